"""The ledger repository: books fills and rejections, answers the desk's questions.

Everything is SQLAlchemy Core (no ORM session on the trade path) and returns the plain records
of ``desk.ledger.records``. Thread-safe: each call checks a connection out of the engine's pool.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, Inexact, Rounded, localcontext
from typing import Any, NoReturn

from sqlalchemy import Engine, Executable, String, bindparam, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from desk.domain.side import Side
from desk.ledger.column_types import DecimalType, UtcDateTime, canonical_decimal
from desk.ledger.models import desk_boots, hedge_intents, orders, trade_log_view, trades
from desk.ledger.records import (
    DuplicateClOrdID,
    FillBooking,
    HedgeIntentRecord,
    HedgeIntentStatus,
    OrderRecord,
    OrderRejection,
    OrderStatus,
    TradeLogRow,
)

__all__ = ["Ledger", "hedge_side"]

# Enough digits to add up any number of NUMERIC(38,18) values exactly (38 + 22 of headroom).
_SUM_PRECISION = 60


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


def _pg_book_fill_statement() -> Executable:
    """Order, trade and hedge intent as one INSERT ... WITH statement: one round trip.

    Data-modifying CTEs run as a single statement, so they commit or fail together even in
    autocommit mode; PostgreSQL checks the foreign keys at the end of the statement, when the
    order and trade rows exist. The trade copies the shared columns from the order's RETURNING.
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
        .returning(trades.c.trade_id, trades.c.symbol, trades.c.qty, trades.c.executed_at)
        .cte("new_trade")
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


def _canon(value: Decimal | int | None) -> Decimal | None:
    return None if value is None else canonical_decimal(Decimal(value))


class Ledger:
    """The desk's book of orders, trades and hedge intents, on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Single statements need no BEGIN/COMMIT round trips; they are atomic on their own.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._postgres = engine.dialect.name == "postgresql"
        self._pg_book_fill = _pg_book_fill_statement() if self._postgres else None

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
        """Book a filled order, its trade and its hedge intent in one transaction.

        Raises ``DuplicateClOrdID`` (carrying what the ledger already holds, e.g. the original
        fill to resend) and writes nothing if the counterparty already used ``cl_ord_id``.
        Other constraint failures (non-positive qty or price, reused exec_id) roll everything
        back and propagate as ``sqlalchemy.exc.IntegrityError``.
        """
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
        try:
            with _plain_errors():
                trade_id = self._insert_fill(order, fill, hedge_side(side))
        except IntegrityError as exc:
            self._raise_duplicate(booking.counterparty, booking.cl_ord_id, exc)
        return _order_record({**order, **fill, "trade_id": trade_id})

    def _insert_fill(self, order: dict[str, Any], fill: dict[str, Any], side: Side) -> int:
        if self._pg_book_fill is not None:
            with self._autocommit.connect() as conn:
                params = {**order, **fill, "hedge_side": side.value}
                return int(conn.execute(self._pg_book_fill, params).scalar_one())
        # SQLite is in-process, so three statements cost no round trips; pysqlite opens the
        # transaction at the first INSERT, which waits (busy_timeout) for the write lock.
        shared = {c: order[c] for c in _SHARED_COLUMNS}
        with self._engine.begin() as conn:
            conn.execute(insert(orders), order)
            result = conn.execute(insert(trades).returning(trades.c.trade_id), {**shared, **fill})
            trade_id = int(result.scalar_one())
            conn.execute(
                insert(hedge_intents),
                {
                    "trade_id": trade_id,
                    "symbol": order["symbol"],
                    "side": side.value,
                    "qty": order["qty"],
                    "created_at": fill["executed_at"],
                    "updated_at": fill["executed_at"],
                },
            )
        return trade_id

    def record_rejection(self, rejection: OrderRejection) -> OrderRecord:
        """Record a rejected order so that its ClOrdID stays used.

        Raises ``DuplicateClOrdID`` and writes nothing if the ClOrdID was already used.
        """
        row = {c: getattr(rejection, c) for c in _REJECTION_COLUMNS} | {
            "side": None if rejection.side is None else Side(rejection.side).value,
            "status": OrderStatus.REJECTED.value,
            "created_at": rejection.received_at,
        }
        try:
            with _plain_errors(), self._autocommit.connect() as conn:
                conn.execute(insert(orders), row)
        except IntegrityError as exc:
            self._raise_duplicate(rejection.counterparty, rejection.cl_ord_id, exc)
        return _order_record(row)

    def _raise_duplicate(self, counterparty: str, cl_ord_id: str, exc: IntegrityError) -> NoReturn:
        # The failed transaction is rolled back by now. If the key is taken, the other writer
        # has committed (the unique index made us wait for it), so a fresh read sees its row.
        existing = self.find_order(counterparty, cl_ord_id)
        if existing is None:
            raise exc  # some other constraint: not a duplicate ClOrdID
        raise DuplicateClOrdID(existing) from exc

    def find_order(self, counterparty: str, cl_ord_id: str) -> OrderRecord | None:
        """The order ``counterparty`` sent as ``cl_ord_id``, with its trade if it filled."""
        params: Mapping[str, str] = {"counterparty": counterparty, "cl_ord_id": cl_ord_id}
        with self._autocommit.connect() as conn:
            row = conn.execute(_FIND_ORDER, params).one_or_none()
        return None if row is None else _order_record(row._mapping)

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
        # The default context rounds to 28 digits; a NUMERIC(38,18) sum needs more, and any
        # rounding at all would be a bug, hence the trap.
        with localcontext() as exact:
            exact.prec = _SUM_PRECISION
            exact.traps[Inexact] = exact.traps[Rounded] = True
            return canonical_decimal(sum(notionals, Decimal(0)))

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
