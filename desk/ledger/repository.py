"""The ledger repository: books fills and rejections, answers the desk's questions.

Everything is SQLAlchemy Core (no ORM session on the trade path) and returns the plain records
of ``desk.ledger.records``. Thread-safe: each call checks a connection out of the engine's pool.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NoReturn

import structlog
from sqlalchemy import (
    Connection,
    Engine,
    String,
    bindparam,
    func,
    insert,
    literal,
    select,
    true,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.sql.dml import UpdateBase

from desk.domain.fills import FillEvent, FillSource, client_booking_key
from desk.domain.side import Side
from desk.ledger.column_types import DecimalType, UtcDateTime, canonical_decimal, exact_sum
from desk.ledger.fill_rows import client_fill_audit_row, fill_row, rejection_audit_row
from desk.ledger.journal import EntryKind, obligations_of, postings_of, write_journal_entry
from desk.ledger.models import (
    audit_log,
    desk_boots,
    fills,
    hedge_intents,
    journal_entries,
    orders,
    postings,
    settlement_obligations,
    trade_log_view,
    trades,
)
from desk.ledger.pg_statements import AUDIT_COLUMNS, new_postings_cte, unnest_lines
from desk.ledger.raw_statements import execute_raw, execute_raw_many_returning
from desk.ledger.records import (
    DuplicateClOrdID,
    FillBooking,
    HedgeIntentRecord,
    HedgeIntentStatus,
    NotBooked,
    OrderRecord,
    OrderRejection,
    OrderStatus,
    OrderTerms,
    TradeLogRow,
    clordid_conflict,
)

__all__ = ["Ledger", "hedge_side"]

log = structlog.get_logger("desk.ledger")


def hedge_side(client_side: Side) -> Side:
    """The desk's order side on the exchange that offsets a client trade.

    The client's BUY is the desk's sale, so the desk buys the asset back: the hedge has the
    client's side (client SELL -> the desk bought -> it sells on the exchange).
    """
    return Side(client_side)


@contextmanager
def _plain_errors() -> Iterator[None]:
    """Re-raise a type's refusal (float money, naive time) as the TypeError/ValueError it is.

    SQLAlchemy wraps exceptions from bind processors in ``StatementError``; callers of the
    ledger should see the real reason, as they would from the column types directly.
    """
    try:
        yield
    except DBAPIError:
        raise
    except StatementError as exc:
        if isinstance(exc.orig, TypeError | ValueError):
            raise exc.orig from exc
        raise


_FILL_COLUMNS = (
    "fill_key", "source", "counterparty", "symbol", "base", "quote", "side", "qty", "price",
    "fee", "fee_currency", "executed_at", "booked_at", "trade_id", "settl_date",
)  # fmt: skip


def _pg_book_fill_statement() -> UpdateBase:
    """The whole booking as one INSERT ... WITH statement: one round trip.

    Order, trade, canonical fill, journal entry with its postings, settlement obligations, the
    CLIENT_FILL audit record and the hedge intent. Data-modifying CTEs run as a single
    statement, so they commit or fail together even in autocommit mode; PostgreSQL checks the
    foreign keys at the end of the statement, and the journal's balance at commit. The trade
    copies the shared columns from the order's RETURNING. Postings and obligations come as
    arrays (``unnest``), so one statement serves any number of lines.
    """
    new_order = (
        insert(orders)
        .values({c: bindparam(c) for c in _ORDER_COLUMNS})
        .returning(*(orders.c[c] for c in _SHARED_COLUMNS))
        .cte("new_order")
    )
    new_trade = (
        insert(trades)
        .from_select(
            [*_SHARED_COLUMNS, "notional", "currency", "executed_at", "settl_date"],
            select(
                *(new_order.c[c] for c in _SHARED_COLUMNS),
                bindparam("notional", type_=DecimalType()),
                bindparam("currency", type_=String()),
                bindparam("executed_at", type_=UtcDateTime()),
                bindparam("settl_date", type_=trades.c.settl_date.type),
            ),
        )
        .returning(
            trades.c.trade_id,
            trades.c.symbol,
            trades.c.qty,
            trades.c.price,
            trades.c.executed_at,
            trades.c.settl_date,
        )
        .cte("new_trade")
    )
    new_fill = (
        insert(fills)
        .from_select(
            list(_FILL_COLUMNS),
            select(
                bindparam("fill_key", type_=String()),
                bindparam("fill_source", type_=String()),
                bindparam("fill_counterparty", type_=String()),
                new_trade.c.symbol,
                bindparam("base", type_=String()),
                bindparam("quote", type_=String()),
                bindparam("desk_side", type_=String()),
                new_trade.c.qty,
                new_trade.c.price,
                bindparam("fee", type_=DecimalType()),
                bindparam("fee_currency", type_=String()),
                new_trade.c.executed_at,
                new_trade.c.executed_at,
                new_trade.c.trade_id,
                new_trade.c.settl_date,
            ),
        )
        .returning(fills.c.id)
        .cte("new_fill")
    )
    # The CTEs below are not read by the final INSERT: PostgreSQL runs every data-modifying
    # CTE exactly once anyway.
    new_entry = (
        insert(journal_entries)
        .from_select(
            ["entry_key", "fill_id", "kind", "booked_at"],
            select(
                bindparam("fill_key", type_=String()),
                new_fill.c.id,
                literal(EntryKind.CLIENT_TRADE.value, String()),
                bindparam("executed_at", type_=UtcDateTime()),
            ),
        )
        .cte("new_entry")
    )
    new_postings = new_postings_cte()
    owed = unnest_lines("owed", "obligation", ("asset", "amount"))
    new_obligations = (
        insert(settlement_obligations)
        .from_select(
            ["trade_id", "counterparty", "asset", "amount", "settl_date", "created_at"],
            select(
                new_trade.c.trade_id,
                bindparam("counterparty", type_=String()),
                *owed.c,
                new_trade.c.settl_date,
                new_trade.c.executed_at,
            ).select_from(new_trade.join(owed, true())),
        )
        .cte("new_obligations")
    )
    new_audit = (
        insert(audit_log)
        .values({c: bindparam(f"audit_{c}") for c in AUDIT_COLUMNS})
        .cte("new_audit")
    )
    return (
        insert(hedge_intents)
        .from_select(
            ["trade_id", "symbol", "side", "qty", "created_at", "updated_at"],
            select(
                new_trade.c.trade_id,
                new_trade.c.symbol,
                bindparam("hedge_side", type_=String()),
                new_trade.c.qty,
                new_trade.c.executed_at,
                new_trade.c.executed_at,
            ),
        )
        .returning(hedge_intents.c.trade_id)
        .add_cte(new_entry, new_postings, new_obligations, new_audit)
    )


def _pg_record_rejection_statement() -> UpdateBase:
    """The rejected order and its ORDER_REJECTED audit record as one statement."""
    columns = (*_REJECTION_COLUMNS, "side", "status", "created_at")
    new_order = insert(orders).values({c: bindparam(c) for c in columns}).cte("new_order")
    return (
        insert(audit_log)
        .values({c: bindparam(f"audit_{c}") for c in AUDIT_COLUMNS})
        .add_cte(new_order)
    )


# Columns an order row gets from a booking, and those the trade copies from the order.
_ORDER_COLUMNS = (
    "counterparty", "account", "cl_ord_id", "order_id", "exec_id", "quote_id", "quote_req_id",
    "symbol", "side", "qty", "price", "status", "created_at", "client_transact_time",
)  # fmt: skip
_SHARED_COLUMNS = (
    "order_id", "counterparty", "account", "symbol", "side", "qty", "price",
    "quote_id", "quote_req_id", "cl_ord_id", "exec_id",
)  # fmt: skip
# OrderRejection fields stored as they are (side, status and created_at need translating).
_REJECTION_COLUMNS = (
    "counterparty", "account", "cl_ord_id", "order_id", "exec_id", "quote_id", "symbol",
    "qty", "price", "reject_code", "reject_text",
)  # fmt: skip

# PostgreSQL's one-statement booking and rejection, built once and run on the driver's cursor
# (raw_statements): SQLAlchemy's cache key for a statement of ten CTEs is a walk of its tree on
# every call.
_PG_BOOK_FILL = _pg_book_fill_statement()
_PG_RECORD_REJECTION = _pg_record_rejection_statement()

# The SQLite booking's statements, built once (construction per call is measurable CPU on the
# order path).
_INSERT_ORDER = insert(orders)
_INSERT_TRADE = insert(trades).returning(trades.c.trade_id)
_INSERT_INTENT = insert(hedge_intents)
_INSERT_FILL = insert(fills).returning(fills.c.id)
_INSERT_AUDIT = insert(audit_log)

_FIND_ORDER = (
    select(orders, trades.c.trade_id, trades.c.notional, trades.c.currency, trades.c.settl_date)
    .select_from(orders.outerjoin(trades, trades.c.order_id == orders.c.order_id))
    .where(orders.c.counterparty == bindparam("counterparty"))
    .where(orders.c.cl_ord_id == bindparam("cl_ord_id"))
)


_RECORD_FIELDS = (
    "counterparty", "account", "cl_ord_id", "order_id", "exec_id", "quote_id", "symbol",
    "reject_code", "reject_text", "trade_id", "currency", "settl_date",
)  # fmt: skip


def _order_record(values: Mapping[Any, Any]) -> OrderRecord:
    """An OrderRecord from a database row or from the values just written (same result)."""
    as_is: dict[str, Any] = {name: values.get(name) for name in _RECORD_FIELDS}
    return OrderRecord(
        **as_is,
        side=None if values["side"] is None else Side(values["side"]),
        qty=_canon(values["qty"]),
        price=_canon(values["price"]),
        notional=_canon(values.get("notional")),
        status=OrderStatus(values["status"]),
        created_at=values["created_at"].astimezone(UTC),
    )


def client_fill_event(order: dict[str, Any], fill: dict[str, Any]) -> FillEvent:
    """The canonical fill of a client trade, from the desk's side (the client's opposite)."""
    quote = order["symbol"].partition("/")[2]
    return FillEvent(
        booking_key=client_booking_key(order["counterparty"], order["cl_ord_id"]),
        source=FillSource.CLIENT,
        symbol=order["symbol"],
        side=Side(order["side"]).opposite,
        qty=order["qty"],
        price=order["price"],
        # OTC fills carry no fee in this desk: the spread is the desk's charge.
        fee=Decimal(0),
        fee_currency=quote,
        executed_at=fill["executed_at"],
        counterparty=order["counterparty"],
        settl_date=fill["settl_date"],
    )


def _canon(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else canonical_decimal(Decimal(value))


@dataclass(frozen=True, slots=True)
class _PreparedFill:
    """One booking's rows, computed before any connection is taken."""

    order: dict[str, Any]
    fill: dict[str, Any]
    hedge_side: Side
    event: FillEvent
    canonical: dict[str, Any]
    audit: dict[str, Any]

    @classmethod
    def of(cls, booking: FillBooking) -> _PreparedFill:
        side = Side(booking.side)
        order = {c: getattr(booking, c) for c in _SHARED_COLUMNS} | {
            "side": side.value,
            "status": OrderStatus.FILLED.value,
            "created_at": booking.executed_at,
            "client_transact_time": booking.client_transact_time,
        }
        fill = {
            c: getattr(booking, c) for c in ("notional", "currency", "executed_at", "settl_date")
        }
        event = client_fill_event(order, fill)
        return cls(
            order=order,
            fill=fill,
            hedge_side=hedge_side(side),
            event=event,
            canonical=fill_row(event, fill["executed_at"]),
            audit=client_fill_audit_row(booking),
        )

    def record(self, trade_id: int) -> OrderRecord:
        return _order_record({**self.order, **self.fill, "trade_id": trade_id})

    def pg_params(self) -> dict[str, Any]:
        """The parameters of PostgreSQL's one-statement booking."""
        lines = postings_of(self.event)
        owed = obligations_of(self.event, lines)
        canonical = self.canonical
        return {
            **self.order,
            **self.fill,
            "hedge_side": self.hedge_side.value,
            "fill_key": canonical["fill_key"],
            "fill_source": canonical["source"],
            "fill_counterparty": canonical["counterparty"],
            "base": canonical["base"],
            "quote": canonical["quote"],
            "desk_side": canonical["side"],
            "fee": canonical["fee"],
            "fee_currency": canonical["fee_currency"],
            "posting_account": [p.account for p in lines],
            "posting_asset": [p.asset for p in lines],
            "posting_amount": [p.amount for p in lines],
            "obligation_asset": [o.asset for o in owed],
            "obligation_amount": [o.amount for o in owed],
            **{f"audit_{c}": v for c, v in self.audit.items()},
        }


class Ledger:
    """The desk's book of orders, trades and hedge intents, on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Single statements need no BEGIN/COMMIT round trips; they are atomic on their own.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._postgres = engine.dialect.name == "postgresql"

    @property
    def engine(self) -> Engine:
        """The engine the ledger writes through."""
        return self._engine

    def start_boot(self, started_at: datetime, hostname: str, pid: int) -> int:
        """Record a desk start and return its boot epoch (strictly increasing, never reused)."""
        stmt = insert(desk_boots).values(started_at=started_at, hostname=hostname, pid=pid)
        with _plain_errors(), self._autocommit.connect() as conn:
            result = conn.execute(stmt.returning(desk_boots.c.id))
            return int(result.scalar_one())

    def book_fill(self, booking: FillBooking) -> OrderRecord:
        """Book a filled order in one transaction: order, trade, canonical fill, journal entry
        and postings, settlement obligations, CLIENT_FILL audit record, hedge intent.

        Raises ``DuplicateClOrdID`` (carrying what the ledger already holds, e.g. the original
        fill to resend) and writes nothing if the counterparty already used ``cl_ord_id``; the
        subclass ``ClOrdIDConflict`` (logged as ``ledger.booking.conflict``) if it did so with
        other terms. Other constraint failures (non-positive qty or price, reused exec_id) roll
        everything back and propagate as ``sqlalchemy.exc.IntegrityError``.
        """
        prepared = _PreparedFill.of(booking)
        try:
            with _plain_errors():
                if self._postgres:
                    # One statement in autocommit mode: one round trip, its own commit.
                    with self._autocommit.connect() as conn:
                        trade_id = self._write_fill(conn, prepared)
                else:
                    with self._engine.begin() as conn:
                        trade_id = self._write_fill(conn, prepared)
        except IntegrityError as exc:
            self._raise_duplicate(booking, exc)
        return prepared.record(trade_id)

    def book_fills(self, bookings: Sequence[FillBooking]) -> list[OrderRecord | Exception]:
        """Book several filled orders in one transaction (one durable commit for all), each
        with every row ``book_fill`` writes; what became of each booking, in order:

        * its ``OrderRecord``: booked (also when it turns out to have been booked already,
          with its own ExecID, by a commit whose reply was lost);
        * ``DuplicateClOrdID``: the ClOrdID was already used; nothing written;
        * ``NotBooked``: refused, nothing written (a constraint, a value no column takes);
        * any other exception: the database failed (a lost connection, a lock not granted)
          and the booking was not found afterwards, or could not be looked for: it may or
          may not be in the ledger.

        If the shared transaction fails because of a booking (a constraint, a bad value),
        nothing of it is kept and each booking is tried again on its own, so the bad one
        costs only itself. If the database itself fails (a lost connection, a lock not
        granted), nothing is retried: the ledger is asked which bookings landed.
        """
        if len(bookings) == 1:
            return [self._book_alone(bookings[0])]
        try:
            prepared = [_PreparedFill.of(b) for b in bookings]
            with _plain_errors(), self._engine.begin() as conn:
                trade_ids = self._write_fills(conn, prepared)
        except (IntegrityError, TypeError, ValueError) as exc:
            log.warning(
                "ledger.booking.group_retried", bookings=len(bookings), error=type(exc).__name__
            )
            return [self._book_alone(b) for b in bookings]
        except Exception as exc:  # the database: answered per booking below
            log.error(
                "ledger.booking.group_failed",
                bookings=len(bookings),
                error=f"{type(exc).__name__}: {exc}",
            )
            return self._after_failure(bookings, exc)
        return [p.record(t) for p, t in zip(prepared, trade_ids, strict=True)]

    def _book_alone(self, booking: FillBooking) -> OrderRecord | Exception:
        try:
            return self.book_fill(booking)
        except DuplicateClOrdID as dup:
            if dup.existing.exec_id == booking.exec_id:
                return dup.existing  # this very booking, from an earlier attempt
            return dup
        except (IntegrityError, TypeError, ValueError) as exc:
            return NotBooked(exc)
        except Exception as exc:  # the database: ask it what it holds
            return self._after_failure([booking], exc)[0]

    def _after_failure(
        self, bookings: Sequence[FillBooking], exc: Exception
    ) -> list[OrderRecord | Exception]:
        """What is known of ``bookings`` after ``exc`` (the database's, not theirs) ended their
        transaction: one found with its own ExecID was booked (the commit landed, its reply
        did not); for any other, ``exc``: not found now is no proof, as a server that lost
        the connection mid-commit may still be finishing it."""
        results: list[OrderRecord | Exception] = []
        for booking in bookings:
            try:
                found = self.find_order(booking.counterparty, booking.cl_ord_id)
            except Exception:  # still failing: nothing more to learn
                return results + [exc] * (len(bookings) - len(results))
            if found is not None and found.exec_id == booking.exec_id:
                results.append(found)
            else:
                results.append(exc)
        return results

    def _write_fills(self, conn: Connection, prepared: Sequence[_PreparedFill]) -> list[int]:
        """Write several bookings' rows on ``conn``; their trade ids. On PostgreSQL every
        booking's statement is sent before the first result is read: one round trip."""
        if self._postgres:
            params = [p.pg_params() for p in prepared]
            return [int(t) for t in execute_raw_many_returning(conn, _PG_BOOK_FILL, params)]
        return [self._write_fill(conn, p) for p in prepared]

    def _write_fill(self, conn: Connection, prepared: _PreparedFill) -> int:
        """Write one booking's rows on ``conn`` (in the caller's transaction); its trade id."""
        if self._postgres:
            return int(execute_raw(conn, _PG_BOOK_FILL, prepared.pg_params()))
        # SQLite is in-process, so several statements cost no round trips; pysqlite opens the
        # transaction at the first INSERT, which waits (busy_timeout) for the write lock.
        # Each insert goes straight to the driver (raw_statements): SQLAlchemy's per-statement
        # overhead, eight times, was a large part of a booking's CPU on the FIX thread.
        order, fill = prepared.order, prepared.fill
        shared = {c: order[c] for c in _SHARED_COLUMNS}
        execute_raw(conn, _INSERT_ORDER, order)
        trade_id = int(execute_raw(conn, _INSERT_TRADE, {**shared, **fill}))
        execute_raw(
            conn,
            _INSERT_INTENT,
            {
                "trade_id": trade_id,
                "symbol": order["symbol"],
                "side": prepared.hedge_side.value,
                "qty": order["qty"],
                "created_at": fill["executed_at"],
                "updated_at": fill["executed_at"],
            },
        )
        fill_id = execute_raw(conn, _INSERT_FILL, {**prepared.canonical, "trade_id": trade_id})
        write_journal_entry(conn, prepared.event, int(fill_id), fill["executed_at"], trade_id)
        execute_raw(conn, _INSERT_AUDIT, prepared.audit)
        return trade_id

    def record_rejection(self, rejection: OrderRejection) -> OrderRecord:
        """Record a rejected order so that its ClOrdID stays used, with its ORDER_REJECTED
        audit record in the same transaction.

        Raises ``DuplicateClOrdID`` (``ClOrdIDConflict`` for other terms) and writes nothing if
        the ClOrdID was already used.
        """
        row = {c: getattr(rejection, c) for c in _REJECTION_COLUMNS} | {
            "side": None if rejection.side is None else Side(rejection.side).value,
            "status": OrderStatus.REJECTED.value,
            "created_at": rejection.received_at,
        }
        audit = rejection_audit_row(rejection)
        try:
            with _plain_errors():
                if self._postgres:
                    params = row | {f"audit_{c}": v for c, v in audit.items()}
                    with self._autocommit.connect() as conn:
                        execute_raw(conn, _PG_RECORD_REJECTION, params)
                else:
                    with self._engine.begin() as conn:
                        conn.execute(_INSERT_ORDER, row)
                        conn.execute(_INSERT_AUDIT, audit)
        except IntegrityError as exc:
            self._raise_duplicate(rejection, exc)
        return _order_record(row)

    def _raise_duplicate(
        self, attempted: FillBooking | OrderRejection, exc: IntegrityError
    ) -> NoReturn:
        # The failed transaction is rolled back by now. If the key is taken, the other writer
        # has committed (the unique index made us wait for it), so a fresh read sees its row.
        existing = self.find_order(attempted.counterparty, attempted.cl_ord_id)
        if existing is None:
            raise exc  # some other constraint: not a duplicate ClOrdID
        conflict = clordid_conflict(existing, attempted)
        if conflict is not None:
            log.warning("ledger.booking.conflict", **conflict.log_fields())
            raise conflict from exc
        raise DuplicateClOrdID(existing) from exc

    def find_order(self, counterparty: str, cl_ord_id: str) -> OrderRecord | None:
        """The order ``counterparty`` sent as ``cl_ord_id``, with its trade if it filled."""
        params: Mapping[str, str] = {"counterparty": counterparty, "cl_ord_id": cl_ord_id}
        with self._autocommit.connect() as conn:
            row = conn.execute(_FIND_ORDER, params).one_or_none()
        return None if row is None else _order_record(row._mapping)

    def find_repeat(
        self, counterparty: str, cl_ord_id: str, attempted: OrderTerms
    ) -> OrderRecord | None:
        """``find_order``, for a new order that may repeat a used ClOrdID.

        A repeat with other terms than the booked order is logged as
        ``ledger.booking.conflict``; the caller still answers it as the repeat it is.
        """
        existing = self.find_order(counterparty, cl_ord_id)
        if existing is not None:
            conflict = clordid_conflict(existing, attempted)
            if conflict is not None:
                log.warning("ledger.booking.conflict", **conflict.log_fields())
        return existing

    def balances(self) -> dict[tuple[str, str], Decimal]:
        """Balance per (account, asset), summed exactly from the postings."""
        key = (postings.c.account, postings.c.asset)
        with _plain_errors(), self._autocommit.connect() as conn:
            if self._postgres:
                rows = conn.execute(select(*key, func.sum(postings.c.amount)).group_by(*key))
                return {(a, s): canonical_decimal(total) for a, s, total in rows}
            # SQLite's SUM would turn the TEXT decimals into floats: add them up exactly here.
            amounts: dict[tuple[str, str], list[Decimal]] = {}
            for account, asset, amount in conn.execute(select(*key, postings.c.amount)):
                amounts.setdefault((account, asset), []).append(amount)
        return {k: exact_sum(values) for k, values in amounts.items()}

    def trade_log(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        counterparty: str | None = None,
        limit: int | None = None,
    ) -> list[TradeLogRow]:
        """Rows of the ``trade_log`` view by trade_id: ``start <= executed_at < end``."""
        view = trade_log_view
        stmt = select(view).order_by(view.c.trade_id)
        if start is not None:
            stmt = stmt.where(view.c.executed_at >= start)
        if end is not None:
            stmt = stmt.where(view.c.executed_at < end)
        if counterparty is not None:
            stmt = stmt.where(view.c.counterparty == counterparty)
        if limit is not None:
            stmt = stmt.limit(limit)
        with _plain_errors(), self._autocommit.connect() as conn:
            rows = conn.execute(stmt).all()
        return [TradeLogRow(**{**row._asdict(), "side": Side(row.side)}) for row in rows]

    def traded_notional(self, counterparty: str, since: datetime) -> Decimal:
        """Total notional of ``counterparty``'s trades executed at or after ``since``."""
        where = (trades.c.counterparty == counterparty, trades.c.executed_at >= since)
        with _plain_errors(), self._autocommit.connect() as conn:
            if self._postgres:
                total = conn.execute(select(func.sum(trades.c.notional)).where(*where)).scalar()
                return total if total is not None else Decimal(0)
            # SQLite's SUM would turn the TEXT decimals into floats: add them up exactly here.
            notionals = conn.execute(select(trades.c.notional).where(*where)).scalars().all()
        return exact_sum(notionals)

    def pending_hedge_intents(self) -> list[HedgeIntentRecord]:
        """PENDING outbox rows, oldest first."""
        stmt = (
            select(hedge_intents)
            .where(hedge_intents.c.status == HedgeIntentStatus.PENDING.value)
            .order_by(hedge_intents.c.id)
        )
        with self._autocommit.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            HedgeIntentRecord(
                **row._asdict() | {"side": Side(row.side), "status": HedgeIntentStatus(row.status)}
            )
            for row in rows
        ]
