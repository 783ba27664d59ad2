"""The SQL ledger: orders, trades and the hedge outbox on SQLite (embedded) or PostgreSQL.

Public entry points: ``make_engine`` (database), ``upgrade`` (migrate) and ``Ledger``
(repository); what crosses the boundary is in ``desk.ledger.records``.
"""

from desk.ledger.database import make_engine, redact_url
from desk.ledger.migrate import current_revision, upgrade
from desk.ledger.records import (
    DuplicateClOrdID,
    FillBooking,
    HedgeIntentRecord,
    HedgeIntentStatus,
    LedgerError,
    OrderRecord,
    OrderRejection,
    OrderStatus,
    TradeLogRow,
)
from desk.ledger.repository import Ledger, hedge_side

__all__ = [
    "DuplicateClOrdID",
    "FillBooking",
    "HedgeIntentRecord",
    "HedgeIntentStatus",
    "Ledger",
    "LedgerError",
    "OrderRecord",
    "OrderRejection",
    "OrderStatus",
    "TradeLogRow",
    "current_revision",
    "hedge_side",
    "make_engine",
    "redact_url",
    "upgrade",
]
