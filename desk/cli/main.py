"""``otc-desk``: run the desk or the simulator, migrate the ledger, read the trade log."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from desk.cli import audit_command, report_command
from desk.clock import SystemClock
from desk.config.loader import ConfigError, load_config
from desk.config.model import DeskConfig
from desk.log_setup import configure_logging


def parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date/time: {text!r} (e.g. 2026-01-05 or 2026-01-05T12:00:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otc-desk", description=__doc__)
    parser.add_argument(
        "--config", type=Path, help="desk TOML (default: $DESK_CONFIG or config/desk.toml)"
    )
    parser.add_argument("--log-format", choices=("json", "console"), default="json")
    parser.add_argument("--log-level", default="info")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve", help="run the desk (FIX acceptor, pricing, ledger) in the foreground"
    )
    serve.add_argument(
        "--with-sim", action="store_true", help="also run the [simulator] venues in-process"
    )
    sub.add_parser(
        "sim", help="run the local exchange simulator from [simulator] in the foreground"
    )

    db = sub.add_parser("db", help="ledger database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="migrate the ledger to the latest revision")
    db_sub.add_parser("current", help="print the ledger's revision")

    trades = sub.add_parser("trades", help="print the trade log (the trade_log view)")
    trades.add_argument("--format", choices=("table", "csv"), default="table")
    trades.add_argument(
        "--from", dest="start", type=parse_time, help="executed at or after (ISO, UTC)"
    )
    trades.add_argument("--to", dest="end", type=parse_time, help="executed before (ISO, UTC)")
    trades.add_argument("--counterparty", help="only this counterparty's trades (its CompID)")
    trades.add_argument("--limit", type=int, help="at most this many rows")

    positions = sub.add_parser(
        "positions", help="net position per instrument and per asset, from every booked fill"
    )
    positions.add_argument("--json", action="store_true", help="JSON instead of a table")

    pw = sub.add_parser(
        "hash-password", help="print a salted hash for a counterparty's password_hash"
    )
    pw.add_argument("--stdin", action="store_true", help="read the password from standard input")
    sub.add_parser("config", help="validate the configuration and print a summary")
    audit_command.add_parser(sub)
    report_command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Servers log to stdout (JSON lines for collectors); reporting commands keep stdout for
    # their data and log to stderr.
    serving = args.command in ("serve", "sim")
    configure_logging(args.log_format, args.log_level, stream=sys.stdout if serving else sys.stderr)
    if args.command == "hash-password":
        return _hash_password(args.stdin)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"otc-desk: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return _serve(config, args.with_sim)
    if args.command == "sim":
        return _sim(config)
    if args.command == "db":
        return _db(config, args.db_command)
    if args.command == "trades":
        return _trades(config, args)
    if args.command == "positions":
        return _positions(config, as_json=args.json)
    if args.command == "audit":
        return audit_command.run(config, args)
    if args.command == "report":
        return report_command.run(config, args)
    if args.command == "config":
        print(
            f"{config.source}: ok — {len(config.instruments)} instruments, "
            f"{len(config.counterparties)} counterparties, {len(config.venues)} venues, "
            f"FIX port {config.fix.port}"
        )
        return 0
    raise AssertionError(args.command)


def _hash_password(from_stdin: bool) -> int:
    from gateway.credentials import hash_password

    password = sys.stdin.readline().rstrip("\n") if from_stdin else getpass.getpass("password: ")
    if not password:
        print("otc-desk: empty password", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


def _serve(config: DeskConfig, with_sim: bool) -> int:
    from desk.core import SchemaNotCurrent
    from gateway.server import DeskServer

    server = DeskServer(config, SystemClock(), with_simulator=with_sim)
    try:
        server.start()
    except SchemaNotCurrent as exc:
        print(f"otc-desk: {exc}", file=sys.stderr)
        return 2
    # What start-up built (modules, the venues' market tables, config) lives as long as the
    # process: frozen, the collector no longer walks it. A full collection walked some
    # 360 000 such objects and held the GIL, and with it every quote, for about 130 ms.
    gc.freeze()
    try:
        _wait_for_signal()
    finally:
        server.stop()
    return 0


def _sim(config: DeskConfig) -> int:
    from exchange_sim.runner import serve_forever

    if config.simulator is None:
        print(f"otc-desk: {config.source}: no [simulator] section", file=sys.stderr)
        return 2
    sim_config = config.simulator

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve_forever(sim_config, stop)

    asyncio.run(run())
    return 0


def _db(config: DeskConfig, command: str) -> int:
    from desk.ledger.database import redact_url
    from desk.ledger.migrate import current_revision, upgrade

    if command == "upgrade":
        before = current_revision(config.database_url)
        upgrade(config.database_url)
        audit_command.record_cli_action(
            config, "db.upgrade", {"from": before, "to": current_revision(config.database_url)}
        )
    print(f"{redact_url(config.database_url)}: revision {current_revision(config.database_url)}")
    return 0


def _trades(config: DeskConfig, args: argparse.Namespace) -> int:
    from desk.cli.trades_output import write_csv, write_table
    from desk.ledger.database import make_engine
    from desk.ledger.repository import Ledger

    engine = make_engine(config.database_url)
    try:
        rows = Ledger(engine).trade_log(
            start=args.start, end=args.end, counterparty=args.counterparty, limit=args.limit
        )
    finally:
        engine.dispose()
    (write_csv if args.format == "csv" else write_table)(rows, sys.stdout)
    return 0


def _positions(config: DeskConfig, *, as_json: bool) -> int:
    from desk.cli.positions_output import write_json, write_table
    from desk.ledger.database import make_engine
    from desk.ledger.hedge_store import HedgeStore

    engine = make_engine(config.database_url)
    try:
        store = HedgeStore(engine)
        by_symbol, by_asset = store.positions_by_symbol(), store.positions_by_asset()
    finally:
        engine.dispose()
    (write_json if as_json else write_table)(by_symbol, by_asset, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
