"""QuickFIX session settings: config/quickfix.cfg plus what desk.toml says."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ENGINE_DEFAULTS = Path(__file__).resolve().parents[1] / "config" / "quickfix.cfg"


@dataclass(frozen=True, slots=True)
class SessionSpec:
    """One counterparty session."""

    comp_id: str
    allowed_addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AcceptorSpec:
    """Everything the acceptor's settings are built from."""

    desk_comp_id: str
    port: int
    dictionary: Path
    store_dir: Path
    log_dir: Path | None
    heartbeat_s: int
    non_stop: bool
    start_time: str
    end_time: str
    max_latency_s: int
    sessions: tuple[SessionSpec, ...]


def settings_text(spec: AcceptorSpec, engine_defaults: Path = ENGINE_DEFAULTS) -> str:
    """The full QuickFIX settings file for ``spec``."""
    template = engine_defaults.read_text(encoding="utf-8").rstrip()
    sections = [line.strip() for line in template.splitlines() if line.startswith("[")]
    if sections != ["[DEFAULT]"]:
        raise ValueError(f"{engine_defaults}: must hold exactly one section, [DEFAULT]")
    # Values from desk.toml continue the template's [DEFAULT] section.
    lines = [
        template,
        f"SocketAcceptPort={spec.port}",
        f"DataDictionary={spec.dictionary}",
        f"FileStorePath={spec.store_dir}",
        f"HeartBtInt={spec.heartbeat_s}",
        f"MaxLatency={spec.max_latency_s}",
        f"StartTime={spec.start_time}",
        f"EndTime={spec.end_time}",
        f"NonStopSession={'Y' if spec.non_stop else 'N'}",
    ]
    if spec.log_dir is not None:
        lines.append(f"FileLogPath={spec.log_dir}")
    for session in spec.sessions:
        lines += [
            "",
            "[SESSION]",
            "BeginString=FIX.4.4",
            f"SenderCompID={spec.desk_comp_id}",
            f"TargetCompID={session.comp_id}",
        ]
        if session.allowed_addresses:
            lines.append(f"AllowedRemoteAddresses={','.join(session.allowed_addresses)}")
    return "\n".join(lines) + "\n"


def write_settings(spec: AcceptorSpec, path: Path) -> Path:
    """Write the settings file where QuickFIX can read it (under var/, not in git)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(settings_text(spec), encoding="utf-8")
    return path
