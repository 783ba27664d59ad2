"""A row altered or deleted behind the triggers' back is named by `otc-desk audit verify`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from desk.audit.chain import chained_hash, first_break
from tests.audit.chain_rows import append_records, chain, config_file, record, run_cli


def _tamper(engine: Engine, statement: str) -> None:
    """Run ``statement`` with the append-only triggers out of the way, as an intruder would."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER ALL")
            conn.exec_driver_sql(statement)
            conn.exec_driver_sql("ALTER TABLE audit_log ENABLE TRIGGER ALL")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
            conn.exec_driver_sql(statement)


@pytest.fixture
def five_rows(engine: Engine) -> Engine:
    append_records(engine, [record(n) for n in range(1, 6)])
    return engine


def _verify(tmp_path: Path, engine: Engine) -> tuple[int, str, dict[str, object]]:
    """Run the CLI; its exit status, output and the ops row it recorded."""
    url = engine.url.render_as_string(hide_password=False)
    done = run_cli(config_file(tmp_path, url), "audit", "verify")
    last = chain(engine)[-1]
    assert (last.record.kind, last.record.msg_type) == ("ops", "audit.verify"), done.stderr
    return done.returncode, done.stdout, json.loads(last.record.body)


def test_verify_when_chain_intact_then_counts_rows_and_records_the_run(
    five_rows: Engine, tmp_path: Path
) -> None:
    status, out, body = _verify(tmp_path, five_rows)

    assert (status, out) == (0, "audit chain intact: 5 rows\n")
    assert {k: body[k] for k in ("result", "rows", "database_first_break")} == {
        "result": "intact",
        "rows": 5,
        "database_first_break": None,
    }
    assert first_break(chain(five_rows)) is None  # the ops row is chained like any other
    assert _verify(tmp_path, five_rows)[:2] == (0, "audit chain intact: 6 rows\n")


def test_verify_when_body_altered_then_names_that_row(five_rows: Engine, tmp_path: Path) -> None:
    _tamper(five_rows, """UPDATE audit_log SET body = '{"fields":{}}' WHERE seq = 3""")

    status, out, body = _verify(tmp_path, five_rows)

    assert (status, out) == (
        1,
        "audit chain broken at seq 3: hash does not match the row's content\n",
    )
    assert body["result"] == "broken"
    assert body["database_first_break"] == body["desk_first_break"] == out.split(" at ")[1].strip()


def test_verify_when_row_altered_and_rehashed_then_names_the_next_row(
    five_rows: Engine, tmp_path: Path
) -> None:
    row = chain(five_rows)[2]
    new_hash = chained_hash(row.prev_hash, 3, replace(row.record, reason="FORGED"))
    forge = f"UPDATE audit_log SET reason = 'FORGED', hash = '{new_hash}' WHERE seq = 3"  # noqa: S608
    _tamper(five_rows, forge)

    status, out, _ = _verify(tmp_path, five_rows)

    assert (status, out) == (
        1,
        "audit chain broken at seq 4: prev_hash does not match the hash of seq 3\n",
    )


def test_verify_when_middle_row_deleted_then_names_the_missing_row(
    five_rows: Engine, tmp_path: Path
) -> None:
    _tamper(five_rows, "DELETE FROM audit_log WHERE seq = 3")

    status, out, body = _verify(tmp_path, five_rows)

    assert (status, out) == (1, "audit chain broken at seq 4: rows missing before it: seq 3 to 3\n")
    assert body["result"] == "broken"
