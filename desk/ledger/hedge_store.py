"""The hedger's side of the ledger: batches of netted intents, exchange orders, exchange fills
and the positions derived from every booked fill."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import structlog
from sqlalchemy import Engine, Integer, String, bindparam, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from desk.domain.fills import FillEvent
from desk.domain.side import Side
from desk.ledger.column_types import DecimalType, UtcDateTime, exact_sum
from desk.ledger.fill_rows import exchange_fill_audit_row, fill_row
from desk.ledger.journal import postings_of, write_journal_entry
from desk.ledger.models import (
    audit_log,
    fills,
    hedge_batches,
    hedge_intents,
    hedge_orders,
    ledger_meta,
    positions,
)
from desk.ledger.pg_statements import book_exchange_fill_statement
from desk.ledger.raw_statements import execute_raw, first_row_raw
from desk.ledger.records import BookingConflict

log = structlog.get_logger("desk.ledger")

# What a repeat of an exchange trade id must carry unchanged. Not executed_at: a venue reports
# one trade with the order's time in one answer and the trade's own time in another.
_EXCHANGE_FILL_TERMS = (
    "venue", "symbol", "side", "qty", "price", "fee", "fee_currency", "client_order_id",
)  # fmt: skip
# Built once: constructing a statement per call (and its cache key) was a large share of the
# hedger's CPU, which competes with the booking thread for the GIL. Parameters are named b_*
# where a column of the same name is in the statement's SET clause.
_POSITION = select(positions.c.qty).where(positions.c.symbol == bindparam("symbol"))
_PENDING_SYMBOLS = (
    select(hedge_intents.c.symbol)
    .where(hedge_intents.c.status == "PENDING")
    .distinct()
    .order_by(hedge_intents.c.symbol)
)
# SQLite: the claim is the transaction's first statement and a write, so it takes the write
# gate and SQLite's write lock before anything is read; a SELECT first would run outside the
# transaction, and two hedgers could both read the same PENDING intents.
_SQLITE_CLAIM = (
    update(hedge_intents)
    .where(hedge_intents.c.symbol == bindparam("b_symbol"), hedge_intents.c.status == "PENDING")
    .values(status="WORKING", updated_at=bindparam("b_at"))
    .returning(hedge_intents.c.id, hedge_intents.c.trade_id)
)
_INSERT_BATCH = insert(hedge_batches).returning(hedge_batches.c.id)
_START_INTENTS = (
    update(hedge_intents)
    .where(hedge_intents.c.id.in_(bindparam("ids", expanding=True)))
    .values(status="WORKING", batch_id=bindparam("b_batch_id"), updated_at=bindparam("b_at"))
)
_FINISH_BATCH = (
    update(hedge_batches)
    .where(hedge_batches.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        completed_at=bindparam("b_at"),
        filled_qty=bindparam("b_filled_qty"),
        avg_price=bindparam("b_avg_price"),
        fees_quote=bindparam("b_fees_quote"),
        slippage_bps=bindparam("b_slippage_bps"),
        fee_bps=bindparam("b_fee_bps"),
        error=bindparam("b_error"),
    )
)
_FINISH_INTENTS = (
    update(hedge_intents)
    .where(hedge_intents.c.batch_id == bindparam("b_batch_id"))
    .values(status=bindparam("b_status"), updated_at=bindparam("b_at"))
)
# PostgreSQL: the batch and its intents closed in one statement, one round trip instead of
# four (BEGIN, two UPDATEs, COMMIT).
_PG_FINISH_BATCH = (
    update(hedge_intents)
    .where(hedge_intents.c.batch_id == bindparam("b_id"))
    .values(status=bindparam("b_intent_status"), updated_at=bindparam("b_at"))
    .add_cte(_FINISH_BATCH.cte("finished"))
)
_FIRST_ORDER_AT = (
    update(hedge_batches)
    .where(hedge_batches.c.id == bindparam("b_id"), hedge_batches.c.first_order_at.is_(None))
    .values(first_order_at=bindparam("b_at"))
)
_INSERT_ORDER = insert(hedge_orders)
# PostgreSQL: the first-order stamp and the order row in one statement, one round trip. This
# and _PG_OPEN_BATCH are on the hedge's way out, and run on the driver's cursor
# (raw_statements).
_PG_RECORD_ORDER = text(
    """
WITH first_order AS (
    UPDATE hedge_batches SET first_order_at = :at
    WHERE id = :batch_id AND first_order_at IS NULL
)
INSERT INTO hedge_orders
    (client_order_id, batch_id, clip_no, venue, symbol, side, qty, status, exchange_order_id,
     filled_qty, created_at, updated_at)
VALUES (:client_order_id, :batch_id, :clip_no, :venue, :symbol, :side, :qty, :status,
        :exchange_order_id, :filled_qty, :at, :at)
"""
).bindparams(
    bindparam("qty", type_=DecimalType()),
    bindparam("filled_qty", type_=DecimalType()),
    bindparam("at", type_=UtcDateTime()),
)
# PostgreSQL: open_batch as one statement (claim, read the position, insert the batch, mark
# the intents), one round trip instead of six. All parts see one snapshot, taken after the
# claimed intents' fills committed (each with its intent), so the netting is the same as in
# the step-by-step version used on SQLite. floor(|q| / lot) * lot is |q| - mod(|q|, lot),
# exact in NUMERIC.
_PG_OPEN_BATCH = (
    text(
        """
WITH claimed AS (
    SELECT id, trade_id FROM hedge_intents
    WHERE symbol = :symbol AND status = 'PENDING'
    FOR UPDATE SKIP LOCKED
),
position AS (
    SELECT COALESCE((SELECT qty FROM positions WHERE symbol = :symbol), 0) AS qty
),
batch AS (
    INSERT INTO hedge_batches
        (symbol, side, qty, algo, status, arrival_mid, created_at, filled_qty, fees_quote)
    SELECT :symbol, CASE WHEN qty > 0 THEN 'SELL' ELSE 'BUY' END,
           abs(qty) - mod(abs(qty), :lot), :algo, 'WORKING', :arrival_mid, :now, 0, 0
    FROM position
    WHERE EXISTS (SELECT 1 FROM claimed)
    RETURNING id, side, qty
),
started AS (
    UPDATE hedge_intents
    SET status = 'WORKING', batch_id = (SELECT id FROM batch), updated_at = :now
    WHERE id IN (SELECT id FROM claimed)
    RETURNING trade_id
)
SELECT batch.id, batch.side, batch.qty,
       ARRAY(SELECT trade_id FROM started ORDER BY trade_id) AS trade_ids
FROM batch
"""
    )
    .bindparams(
        bindparam("symbol", type_=String()),
        bindparam("algo", type_=String()),
        bindparam("lot", type_=DecimalType()),
        bindparam("arrival_mid", type_=DecimalType()),
        bindparam("now", type_=UtcDateTime()),
    )
    .columns(id=Integer(), side=String(), qty=DecimalType(), trade_ids=ARRAY(Integer()))
)
_PG_OPEN_BATCH_TYPES = (Integer(), String(), DecimalType(), ARRAY(Integer()))
_UPDATE_ORDER = (
    update(hedge_orders)
    .where(hedge_orders.c.client_order_id == bindparam("b_client_order_id"))
    .values(
        status=bindparam("b_status"),
        filled_qty=bindparam("b_filled_qty"),
        exchange_order_id=bindparam("b_exchange_order_id"),
        updated_at=bindparam("b_at"),
        error=bindparam("b_error"),
    )
)
_ORDERS_OF = (
    select(hedge_orders)
    .where(hedge_orders.c.batch_id == bindparam("batch_id"))
    .order_by(hedge_orders.c.clip_no, hedge_orders.c.client_order_id)
)
_INSERT_FILL = insert(fills).returning(fills.c.id)
_PG_BOOK_EXCHANGE_FILL = book_exchange_fill_statement()
_INSERT_AUDIT = insert(audit_log)
_FILLS_OF_ORDERS = select(fills.c.qty, fills.c.price, fills.c.fee, fills.c.fee_currency).where(
    fills.c.client_order_id.in_(bindparam("ids", expanding=True))
)


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """A hedge batch as stored."""

    id: int
    symbol: str
    side: Side
    qty: Decimal
    algo: str
    status: str
    arrival_mid: Decimal | None
    created_at: datetime
    first_order_at: datetime | None
    filled_qty: Decimal
    trade_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class HedgeOrderRecord:
    """An exchange order of a batch, as stored."""

    client_order_id: str
    batch_id: int
    clip_no: int
    venue: str
    symbol: str
    side: Side
    qty: Decimal
    status: str
    exchange_order_id: str | None
    filled_qty: Decimal


@dataclass(frozen=True, slots=True)
class BatchResult:
    """How a batch ended and how well it was hedged."""

    status: str
    filled_qty: Decimal
    avg_price: Decimal | None
    fees_quote: Decimal
    slippage_bps: Decimal | None
    fee_bps: Decimal | None
    error: str | None


@dataclass(frozen=True, slots=True)
class BookedFill:
    """The money of one booked exchange fill."""

    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str


class HedgeStore:
    """Reads and writes for the hedge engine; every write is its own short transaction.

    An exchange order is recorded through ``engine`` (durable: on disk before it is sent).
    Everything else the hedger writes (claiming intents, order updates, exchange fills,
    closing a batch) goes through ``deferred`` (``LedgerEngines.deferred``; ``engine`` if not
    given): it reaches the disk with the next durable commit at the latest, i.e. before the
    next order is sent, and whatever a machine crash loses of it a restart recovers by
    querying the venues for the recorded client order ids.
    """

    def __init__(self, engine: Engine, deferred: Engine | None = None) -> None:
        self._engine = engine
        self._deferred = engine if deferred is None else deferred
        self._postgres = engine.dialect.name == "postgresql"
        # One-statement writes on PostgreSQL need no BEGIN/COMMIT round trips.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._deferred_autocommit = self._deferred.execution_options(isolation_level="AUTOCOMMIT")

    def instance_tag(self) -> str:
        """This ledger's random tag, the prefix of every exchange client order id."""
        with self._engine.connect() as conn:
            return str(
                conn.execute(
                    select(ledger_meta.c.value).where(ledger_meta.c.key == "instance_tag")
                ).scalar_one()
            )

    # --- positions -----------------------------------------------------------------------
    def position(self, symbol: str) -> Decimal:
        """The desk's net base quantity in ``symbol`` over every booked fill."""
        return self.positions_by_symbol().get(symbol, Decimal(0))

    def positions_by_symbol(self) -> dict[str, Decimal]:
        """Net base quantity per symbol (buys positive) over every booked fill."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(positions.c.symbol, positions.c.qty)).all()
        return {symbol: qty for symbol, qty in rows}

    def hedged_positions(self) -> dict[str, Decimal]:
        """Net base quantity per base asset over the exchange fills alone (buys positive):
        the hedger's part of the desk's inventory."""
        stmt = select(fills.c.base, fills.c.side, fills.c.qty).where(fills.c.source == "EXCHANGE")
        legs: dict[str, list[Decimal]] = {}
        with self._engine.connect() as conn:
            for base, side, qty in conn.execute(stmt):
                legs.setdefault(base, []).append(qty if side == Side.BUY.value else -qty)
        return {asset: exact_sum(values) for asset, values in legs.items()}

    def positions_by_asset(self) -> dict[str, Decimal]:
        """Net quantity per asset: base legs from quantities, quote legs from notionals and
        fees (a desk buy spends quote currency)."""
        stmt = select(
            fills.c.base, fills.c.quote, fills.c.side, fills.c.qty, fills.c.price,
            fills.c.fee, fills.c.fee_currency,
        )  # fmt: skip
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        legs: dict[str, list[Decimal]] = {}
        for base, quote, side, qty, price, fee, fee_currency in rows:
            sign = 1 if side == Side.BUY.value else -1
            legs.setdefault(base, []).append(sign * qty)
            legs.setdefault(quote, []).append(-sign * qty * price)
            legs.setdefault(fee_currency, []).append(-fee)
        return {asset: exact_sum(values) for asset, values in legs.items()}

    # --- intents and batches -------------------------------------------------------------
    def symbols_with_pending_intents(self) -> list[str]:
        with self._engine.connect() as conn:
            return list(conn.execute(_PENDING_SYMBOLS).scalars())

    def open_batch(
        self, symbol: str, algo: str, arrival_mid: Decimal | None, now: datetime, lot: Decimal
    ) -> BatchRecord | None:
        """Claim every PENDING intent of ``symbol`` into a new WORKING batch that takes the
        symbol's whole position back to flat (rounded down to ``lot``); None if no intent was
        pending.

        The position (one row, kept by the database from every fill) is read in the same
        transaction, after the claim: every claimed intent's fill is in it, and a fill
        committed later brings its own pending intent. Netting is therefore exact, offsetting
        client flow is internalised, and dust below a lot stays in the position for the next
        batch. On PostgreSQL the intents are locked with SKIP LOCKED, so two hedgers never
        claim the same intent.
        """
        if self._postgres:
            return self._open_batch_pg(symbol, algo, arrival_mid, now, lot)
        with self._deferred.begin() as conn:
            claimed = conn.execute(_SQLITE_CLAIM, {"b_symbol": symbol, "b_at": now}).all()
            if not claimed:
                return None
            intent_ids = [row.id for row in claimed]
            position = conn.execute(_POSITION, {"symbol": symbol}).scalar() or Decimal(0)
            side = Side.SELL if position > 0 else Side.BUY
            qty = (abs(position) / lot).to_integral_value(rounding=ROUND_FLOOR) * lot
            batch_id = int(
                conn.execute(
                    _INSERT_BATCH,
                    {
                        "symbol": symbol,
                        "side": side.value,
                        "qty": qty,
                        "algo": algo,
                        "status": "WORKING",
                        "arrival_mid": arrival_mid,
                        "created_at": now,
                        "filled_qty": Decimal(0),
                        "fees_quote": Decimal(0),
                    },
                ).scalar_one()
            )
            conn.execute(_START_INTENTS, {"ids": intent_ids, "b_batch_id": batch_id, "b_at": now})
        return BatchRecord(
            id=batch_id,
            symbol=symbol,
            side=side,
            qty=qty,
            algo=algo,
            status="WORKING",
            arrival_mid=arrival_mid,
            created_at=now,
            first_order_at=None,
            filled_qty=Decimal(0),
            trade_ids=tuple(sorted(row.trade_id for row in claimed)),
        )

    def _open_batch_pg(
        self, symbol: str, algo: str, arrival_mid: Decimal | None, now: datetime, lot: Decimal
    ) -> BatchRecord | None:
        params = {
            "symbol": symbol,
            "algo": algo,
            "lot": lot,
            "arrival_mid": arrival_mid,
            "now": now,
        }
        with self._deferred_autocommit.connect() as conn:
            row = first_row_raw(conn, _PG_OPEN_BATCH, params, _PG_OPEN_BATCH_TYPES)
        if row is None:
            return None
        batch_id, side, qty, trade_ids = row
        return BatchRecord(
            id=batch_id,
            symbol=symbol,
            side=Side(side),
            qty=qty,
            algo=algo,
            status="WORKING",
            arrival_mid=arrival_mid,
            created_at=now,
            first_order_at=None,
            filled_qty=Decimal(0),
            trade_ids=tuple(trade_ids),
        )

    def working_batches(self) -> list[BatchRecord]:
        """Batches not yet DONE or FAILED, oldest first (what a restarted hedger resumes)."""
        stmt = (
            select(hedge_batches)
            .where(hedge_batches.c.status == "WORKING")
            .order_by(hedge_batches.c.id)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [
            BatchRecord(
                id=r.id,
                symbol=r.symbol,
                side=Side(r.side),
                qty=r.qty,
                algo=r.algo,
                status=r.status,
                arrival_mid=r.arrival_mid,
                created_at=r.created_at,
                first_order_at=r.first_order_at,
                filled_qty=r.filled_qty,
            )
            for r in rows
        ]

    def finish_batch(self, batch_id: int, result: BatchResult, at: datetime) -> None:
        """Close a batch with its quality figures; its intents become DONE or FAILED."""
        intent_status = "DONE" if result.status == "DONE" else "FAILED"
        batch = {
            "b_id": batch_id,
            "b_status": result.status,
            "b_at": at,
            "b_filled_qty": result.filled_qty,
            "b_avg_price": result.avg_price,
            "b_fees_quote": result.fees_quote,
            "b_slippage_bps": result.slippage_bps,
            "b_fee_bps": result.fee_bps,
            "b_error": result.error,
        }
        if self._postgres:
            with self._deferred_autocommit.connect() as conn:
                execute_raw(conn, _PG_FINISH_BATCH, {**batch, "b_intent_status": intent_status})
            return
        with self._deferred.begin() as conn:
            execute_raw(conn, _FINISH_BATCH, batch)
            execute_raw(
                conn,
                _FINISH_INTENTS,
                {"b_batch_id": batch_id, "b_status": intent_status, "b_at": at},
            )

    # --- exchange orders -----------------------------------------------------------------
    def record_order(self, order: HedgeOrderRecord, at: datetime) -> None:
        """Write the order down *before* it is sent: after a crash its id is what is queried.

        The batch's first order also stamps the batch's ``first_order_at``, in the same
        transaction (one commit before the order can go out, not two; on PostgreSQL one
        statement).
        """
        row = {
            "client_order_id": order.client_order_id,
            "batch_id": order.batch_id,
            "clip_no": order.clip_no,
            "venue": order.venue,
            "symbol": order.symbol,
            "side": order.side.value,
            "qty": order.qty,
            "status": order.status,
            "exchange_order_id": order.exchange_order_id,
            "filled_qty": order.filled_qty,
        }
        if self._postgres:
            with self._autocommit.connect() as conn:
                execute_raw(conn, _PG_RECORD_ORDER, {**row, "at": at})
            return
        with self._engine.begin() as conn:
            execute_raw(conn, _FIRST_ORDER_AT, {"b_id": order.batch_id, "b_at": at})
            execute_raw(conn, _INSERT_ORDER, {**row, "created_at": at, "updated_at": at})

    def update_order(
        self,
        client_order_id: str,
        *,
        status: str,
        filled_qty: Decimal,
        exchange_order_id: str | None,
        at: datetime,
        error: str | None = None,
    ) -> None:
        # One statement: on PostgreSQL without BEGIN/COMMIT round trips.
        with (
            self._deferred_autocommit.connect() if self._postgres else self._deferred.begin()
        ) as conn:
            execute_raw(
                conn,
                _UPDATE_ORDER,
                {
                    "b_client_order_id": client_order_id,
                    "b_status": status,
                    "b_filled_qty": filled_qty,
                    "b_exchange_order_id": exchange_order_id,
                    "b_at": at,
                    "b_error": error,
                },
            )

    def orders_of(self, batch_id: int) -> list[HedgeOrderRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(_ORDERS_OF, {"batch_id": batch_id}).all()
        return [
            HedgeOrderRecord(
                client_order_id=r.client_order_id,
                batch_id=r.batch_id,
                clip_no=r.clip_no,
                venue=r.venue,
                symbol=r.symbol,
                side=Side(r.side),
                qty=r.qty,
                status=r.status,
                exchange_order_id=r.exchange_order_id,
                filled_qty=r.filled_qty,
            )
            for r in rows
        ]

    # --- exchange fills ------------------------------------------------------------------
    def book_fill_event(self, event: FillEvent, booked_at: datetime) -> bool:
        """Book one exchange fill with its journal entry and EXCHANGE_FILL audit record, in one
        transaction (on PostgreSQL one statement, so the audit chain's lock is held briefly).

        False (and nothing written) if its booking key was booked before with the same terms;
        the same key with other terms raises ``BookingConflict`` (logged as
        ``ledger.booking.conflict``).
        """
        row = fill_row(event, booked_at)
        audit = exchange_fill_audit_row(event, booked_at)
        try:
            if self._postgres:
                lines = postings_of(event)
                params = {
                    **row,
                    "posting_account": [p.account for p in lines],
                    "posting_asset": [p.asset for p in lines],
                    "posting_amount": [p.amount for p in lines],
                    **{f"audit_{c}": v for c, v in audit.items()},
                }
                with self._deferred_autocommit.connect() as conn:
                    execute_raw(conn, _PG_BOOK_EXCHANGE_FILL, params)
            else:
                with self._deferred.begin() as conn:
                    fill_id = execute_raw(conn, _INSERT_FILL, row)
                    write_journal_entry(conn, event, int(fill_id), booked_at)
                    execute_raw(conn, _INSERT_AUDIT, audit)
        except IntegrityError as exc:
            with self._engine.connect() as conn:
                existing = conn.execute(
                    select(*(fills.c[name] for name in _EXCHANGE_FILL_TERMS)).where(
                        fills.c.fill_key == row["fill_key"]
                    )
                ).one_or_none()
            if existing is None:
                raise
            differences: dict[str, tuple[object, object]] = {
                name: (existing._mapping[name], row[name])
                for name in _EXCHANGE_FILL_TERMS
                if existing._mapping[name] != row[name]
            }
            if differences:
                conflict = BookingConflict(event.booking_key, differences)
                log.warning("ledger.booking.conflict", **conflict.log_fields())
                raise conflict from exc
            return False
        return True

    def exchange_fills_of(self, client_order_ids: Sequence[str]) -> list[BookedFill]:
        """Every booked fill of these orders."""
        if not client_order_ids:
            return []
        with self._engine.connect() as conn:
            rows = conn.execute(_FILLS_OF_ORDERS, {"ids": list(client_order_ids)}).all()
        return [BookedFill(*r) for r in rows]
