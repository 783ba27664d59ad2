"""Small builders and readers shared by the audit tests."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from desk.audit.chain import ChainRow
from desk.audit.record import AuditRecord
from desk.audit.store import append, read_chain
from tests.fixtures.desk import VENUES, desk_toml, free_port

T0 = datetime(2026, 1, 5, 12, 0, 0, 123456, tzinfo=UTC)
OTC_DESK = str(Path(sys.executable).with_name("otc-desk"))


def record(n: int, **refs: str | None) -> AuditRecord:
    """The n-th test record: a FIX inbound RFQ unless ``refs`` say otherwise."""
    return AuditRecord(
        recorded_at=T0 + timedelta(milliseconds=n),
        kind="fix.in",
        msg_type="R",
        body=f'{{"fields":{{"131":"rfq-{n}"}}}}',
        counterparty="CLIENT1",
        quote_req_id=f"rfq-{n}",
        **refs,
    )


def append_records(engine: Engine, records: list[AuditRecord]) -> None:
    with engine.begin() as connection:
        append(connection, records)


def chain(engine: Engine) -> list[ChainRow]:
    with engine.connect() as connection:
        return list(read_chain(connection))


def config_file(tmp_path: Path, database_url: str) -> Path:
    """A desk configuration whose ledger is ``database_url`` (nothing else is contacted)."""
    path = tmp_path / "desk.toml"
    urls = {name: f"http://127.0.0.1:9/{name}/api/v3" for name in VENUES}
    path.write_text(
        desk_toml(
            var_dir=tmp_path / "var",
            database_url=database_url,
            fix_port=free_port(),
            venue_urls=urls,
        ),
        encoding="utf-8",
    )
    return path


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``otc-desk --config <config> <args>`` as a separate process."""
    return subprocess.run(  # noqa: S603 - our own CLI with test arguments
        [OTC_DESK, "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
