"""``otc-desk audit verify``: check the audit trail's hash chain and name the first broken row.

The database's verdict comes from ``sql/audit/verify_chain.sql`` (the query an auditor runs
with ``psql``); the desk recomputes the chain in Python as well (desk.audit.chain), so a
tampered helper function in the database cannot vouch for itself. Every run is recorded as an
ops row, whatever it found.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from desk.config.model import DeskConfig


def add_parser(sub: Any) -> None:
    """Add the ``audit`` sub-command to ``otc-desk``'s sub-parsers."""
    audit = sub.add_parser("audit", help="the hash-chained audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser(
        "verify", help="recompute the hash chain; name the first broken row (exit 1) if any"
    )


def run(config: DeskConfig, args: argparse.Namespace) -> int:
    """Run ``otc-desk audit``; the exit status."""
    if args.audit_command == "verify":
        return verify(config)
    raise AssertionError(args.audit_command)


def verify(config: DeskConfig) -> int:
    """Verify the chain of the configured ledger, print the verdict, record the run."""
    from desk.audit.chain import first_break
    from desk.audit.store import read_chain, row_count, sql_first_break
    from desk.ledger.database import make_engine

    engine = make_engine(config.database_url)
    try:
        with engine.connect() as connection:
            rows = row_count(connection)
            database_says = sql_first_break(connection)
            desk_says = first_break(read_chain(connection))
    finally:
        engine.dispose()
    if database_says != desk_says:
        result, status = "disagreement", 1
        print(
            "audit chain: the database and the desk disagree: "
            f"verify_chain.sql says {database_says or 'intact'}, "
            f"the desk says {desk_says or 'intact'}"
        )
    elif database_says is not None:
        result, status = "broken", 1
        print(f"audit chain broken at {database_says}")
    else:
        result, status = "intact", 0
        print(f"audit chain intact: {rows} rows")
    record_cli_action(
        config,
        "audit.verify",
        {
            "result": result,
            "rows": rows,
            "database_first_break": None if database_says is None else str(database_says),
            "desk_first_break": None if desk_says is None else str(desk_says),
        },
    )
    return status


def record_cli_action(config: DeskConfig, action: str, details: Mapping[str, Any]) -> None:
    """Append an ops row for a command-line action, with who ran it and where."""
    from desk.audit.record import ops_record
    from desk.audit.store import append_now
    from desk.ledger.database import make_engine

    engine = make_engine(config.database_url)
    try:
        who = {"user": _user(), "host": socket.gethostname(), "pid": os.getpid()}
        append_now(engine, ops_record(datetime.now(UTC), action, {**details, **who}))
    except Exception as exc:
        # The action itself is done; say loudly that its record is missing.
        print(f"otc-desk: could not record {action} in the audit trail: {exc}", file=sys.stderr)
        raise
    finally:
        engine.dispose()


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "unknown"
