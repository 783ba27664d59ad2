"""SQLite audit chain: the row's time as the chain's UTC text in SQL, not by a call into Python.

Revision ID: 0007_sqlite_audit_time
Revises: 0006_positions
Create Date: 2026-11-22

The SQLite chain trigger (0004_audit) hashed each new row with two functions the desk
registers in Python: ``desk_sha256`` and ``desk_audit_time``. Every call from SQLite into
Python must take the interpreter's lock again, and under load that wait, not the work, is
what a call costs, while the writer holds the database's one write lock. ``recorded_at`` is
stored by ``UtcDateTime`` as fixed-width UTC text (``2026-01-05T12:00:00.123456+00:00``), whose
first 26 characters followed by ``Z`` are exactly the chain's text
(``2026-01-05T12:00:00.123456Z``). The trigger now builds that in SQL for such text and calls
``desk_audit_time`` only for anything else. The hash is unchanged, byte for byte: the chain
tests hold the trigger to ``desk/audit/chain.py`` on random rows, and the verification query
(``sql/audit/verify_chain.sql``) still uses ``desk_audit_time`` for every row.

PostgreSQL is unchanged: its ``desk_audit_time`` is already SQL.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0007_sqlite_audit_time"
down_revision: str | Sequence[str] | None = "0006_positions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CALL = "desk_audit_time(NEW.recorded_at)"
# UtcDateTime's text is 32 characters: 26 of date and time, then "+00:00".
SQLITE_AUDIT_TIME = (
    "(CASE WHEN length(NEW.recorded_at) = 32 AND substr(NEW.recorded_at, 11, 1) = 'T'"
    " AND substr(NEW.recorded_at, 27) = '+00:00'"
    f" THEN substr(NEW.recorded_at, 1, 26) || 'Z' ELSE {_CALL} END)"
)


def _audit_revision() -> ModuleType:
    """0004_audit, whose chain trigger this revision rewrites (a file name is no module name)."""
    path = Path(__file__).with_name("0004_audit.py")
    spec = importlib.util.spec_from_file_location("desk_migration_0004_audit", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chain_trigger(*, in_sql: bool) -> str:
    """The SQLite chain trigger of 0004_audit, with the row's time built in SQL if ``in_sql``."""
    trigger = str(_audit_revision().SQLITE_TRIGGERS[1])
    if _CALL not in trigger or "CREATE TRIGGER audit_log_chain " not in trigger:
        raise RuntimeError("0004_audit's chain trigger is not the one this revision rewrites")
    return trigger.replace(_CALL, SQLITE_AUDIT_TIME) if in_sql else trigger


def _replace_chain_trigger(*, in_sql: bool) -> None:
    if op.get_context().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER audit_log_chain")
    op.execute(chain_trigger(in_sql=in_sql))


def upgrade() -> None:
    """SQLite: the chain trigger builds the row's UTC text in SQL."""
    _replace_chain_trigger(in_sql=True)


def downgrade() -> None:
    """SQLite: the chain trigger of 0004_audit again."""
    _replace_chain_trigger(in_sql=False)
