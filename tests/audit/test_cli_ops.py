"""Ops rows from the command line, and verify_chain.sql run by psql as an auditor would."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import make_url

from desk.audit.store import verify_chain_sql
from desk.ledger.database import make_engine
from desk.ledger.migrate import head_revision
from tests.audit.chain_rows import append_records, chain, config_file, record, run_cli


def test_db_upgrade_when_run_then_records_an_ops_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    done = run_cli(config_file(tmp_path, url), "db", "upgrade")

    assert done.returncode == 0, done.stderr
    engine = make_engine(url)
    try:
        rows = chain(engine)
    finally:
        engine.dispose()
    assert [(r.record.kind, r.record.msg_type) for r in rows] == [("ops", "db.upgrade")]
    body = json.loads(rows[0].record.body)
    assert (body["from"], body["to"]) == (None, head_revision())
    assert set(body) == {"from", "to", "user", "host", "pid"}


def test_verify_chain_sql_when_run_by_psql_then_names_the_altered_row(pg_url: str) -> None:
    psql = shutil.which("psql")
    assert psql is not None, "psql is part of the PostgreSQL client the CI machine has"
    engine = make_engine(pg_url)
    try:
        append_records(engine, [record(n) for n in range(1, 4)])
        libpq_url = make_url(pg_url).set(drivername="postgresql").render_as_string(False)
        command = [psql, libpq_url, "--no-psqlrc", "--csv", "-f", str(verify_chain_sql())]

        intact = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql("UPDATE audit_log SET msg_type = 'S' WHERE seq = 2")
        broken = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    finally:
        engine.dispose()

    assert (intact.returncode, intact.stdout) == (0, "seq,problem\n"), intact.stderr
    assert broken.stdout == "seq,problem\n2,hash does not match the row's content\n"
