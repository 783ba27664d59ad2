"""gateway.settings: the QuickFIX settings text built from config/quickfix.cfg and desk.toml."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gateway.settings import ENGINE_DEFAULTS, AcceptorSpec, SessionSpec, settings_text


def spec(*sessions: SessionSpec, log_dir: Path | None = Path("/var/desk/log")) -> AcceptorSpec:
    return AcceptorSpec(
        desk_comp_id="OTCDESK",
        port=9876,
        dictionary=Path("/opt/desk/FIX44-desk.xml"),
        store_dir=Path("/var/desk/store"),
        log_dir=log_dir,
        heartbeat_s=30,
        non_stop=True,
        start_time="00:00:00",
        end_time="00:00:00",
        max_latency_s=120,
        sessions=sessions,
    )


def blocks(text: str) -> list[list[str]]:
    """The settings split into sections: each a list of its non-blank lines, header first."""
    result: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("["):
            result.append([line])
        elif line.strip() and result:
            result[-1].append(line)
    return result


def test_settings_when_two_counterparties_then_one_default_and_one_session_each() -> None:
    text = settings_text(spec(SessionSpec("CLIENT1"), SessionSpec("CLIENT2")))

    sections = blocks(text)
    assert [s[0] for s in sections] == ["[DEFAULT]", "[SESSION]", "[SESSION]"]
    assert sections[1][1:] == [
        "BeginString=FIX.4.4",
        "SenderCompID=OTCDESK",
        "TargetCompID=CLIENT1",
    ]
    assert sections[2][1:] == [
        "BeginString=FIX.4.4",
        "SenderCompID=OTCDESK",
        "TargetCompID=CLIENT2",
    ]
    assert text.endswith("\n")


def test_settings_when_built_then_default_block_continues_the_engine_template() -> None:
    template = ENGINE_DEFAULTS.read_text(encoding="utf-8").rstrip()

    text = settings_text(spec(SessionSpec("CLIENT1")))

    assert text.startswith(template + "\n")
    default = blocks(text)[0]
    desk_lines = default[default.index("SendRedundantResendRequests=N") + 1 :]
    assert desk_lines == [
        "SocketAcceptPort=9876",
        "DataDictionary=/opt/desk/FIX44-desk.xml",
        "FileStorePath=/var/desk/store",
        "HeartBtInt=30",
        "MaxLatency=120",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        "NonStopSession=Y",
        "FileLogPath=/var/desk/log",
    ]
    assert "ConnectionType=acceptor" in default


def test_settings_when_no_log_dir_and_not_non_stop_then_no_file_log_and_non_stop_n() -> None:
    text = settings_text(replace(spec(SessionSpec("CLIENT1"), log_dir=None), non_stop=False))

    assert "FileLogPath" not in text
    assert "NonStopSession=N" in text.splitlines()


def test_settings_when_addresses_given_then_joined_by_commas_only_for_that_session() -> None:
    text = settings_text(
        spec(SessionSpec("CLIENT1", ("127.0.0.1", "10.0.0.7")), SessionSpec("CLIENT2"))
    )

    sections = blocks(text)
    assert "AllowedRemoteAddresses=127.0.0.1,10.0.0.7" in sections[1]
    assert not any(line.startswith("AllowedRemoteAddresses") for line in sections[2])
    assert text.count("AllowedRemoteAddresses") == 1


def test_settings_when_no_addresses_then_no_allowed_remote_addresses_line() -> None:
    text = settings_text(spec(SessionSpec("CLIENT1", ())))

    assert "AllowedRemoteAddresses" not in text


def test_settings_when_template_has_two_sections_then_refused_naming_it(tmp_path: Path) -> None:
    template = tmp_path / "quickfix.cfg"
    template.write_text(
        "[DEFAULT]\nConnectionType=acceptor\n\n[SESSION]\nTargetCompID=X\n", encoding="utf-8"
    )

    with pytest.raises(ValueError, match="exactly one section") as caught:
        settings_text(spec(SessionSpec("CLIENT1")), engine_defaults=template)

    assert str(template) in str(caught.value)


def test_settings_when_template_has_no_default_section_then_refused(tmp_path: Path) -> None:
    template = tmp_path / "quickfix.cfg"
    template.write_text("ConnectionType=acceptor\n", encoding="utf-8")

    with pytest.raises(ValueError, match=r"\[DEFAULT\]"):
        settings_text(spec(SessionSpec("CLIENT1")), engine_defaults=template)
