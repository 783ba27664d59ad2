"""Machine-readable reject codes and the FIX reason numbers the ROE maps them to."""

from __future__ import annotations

from enum import Enum


class RfqRejectCode(Enum):
    """QuoteRequestReject codes; the value pairs QuoteRequestRejectReason(658) with the code."""

    UNKNOWN_SYMBOL = (1, "UNKNOWN_SYMBOL")
    HALTED = (2, "HALTED")
    SIZE_ABOVE_MAX = (3, "SIZE_ABOVE_MAX")
    SIZE_BELOW_MIN = (3, "SIZE_BELOW_MIN")
    NOTIONAL_LIMIT = (3, "NOTIONAL_LIMIT")
    INVENTORY_LIMIT = (3, "INVENTORY_LIMIT")
    NOT_AUTHORIZED = (6, "NOT_AUTHORIZED")
    NO_MARKET = (8, "NO_MARKET")
    CREDIT_LIMIT = (11, "CREDIT_LIMIT")
    RATE_LIMITED = (99, "RATE_LIMITED")
    DUPLICATE_QUOTEREQID = (99, "DUPLICATE_QUOTEREQID")
    BAD_REQUEST = (99, "BAD_REQUEST")
    INTERNAL_ERROR = (99, "INTERNAL_ERROR")

    @property
    def fix_reason(self) -> int:
        """QuoteRequestRejectReason(658); several codes share one FIX reason."""
        return int(self.value[0])


class OrderRejectCode(Enum):
    """Order reject codes; the value pairs OrdRejReason(103) with the code."""

    UNKNOWN_SYMBOL = (1, "UNKNOWN_SYMBOL")
    HALTED = (2, "HALTED")
    CREDIT_LIMIT = (3, "CREDIT_LIMIT")
    NOTIONAL_LIMIT = (3, "NOTIONAL_LIMIT")
    QUOTE_UNKNOWN = (5, "QUOTE_UNKNOWN")
    DUPLICATE_CLORDID = (6, "DUPLICATE_CLORDID")
    QUOTE_EXPIRED = (99, "QUOTE_EXPIRED")
    QUOTE_ALREADY_EXECUTED = (99, "QUOTE_ALREADY_EXECUTED")
    QUOTE_INDICATIVE = (99, "QUOTE_INDICATIVE")
    PRICE_MISMATCH = (99, "PRICE_MISMATCH")
    SIDE_MISMATCH = (99, "SIDE_MISMATCH")
    SYMBOL_MISMATCH = (99, "SYMBOL_MISMATCH")
    QTY_ABOVE_QUOTE = (99, "QTY_ABOVE_QUOTE")
    BAD_ORDTYPE = (99, "BAD_ORDTYPE")
    BAD_TIF = (99, "BAD_TIF")
    BAD_REQUEST = (99, "BAD_REQUEST")
    INTERNAL_ERROR = (99, "INTERNAL_ERROR")

    @property
    def fix_reason(self) -> int:
        """OrdRejReason(103); several codes share one FIX reason."""
        return int(self.value[0])


def reject_text(code: RfqRejectCode | OrderRejectCode, explanation: str) -> str:
    """Text(58) as the ROE wants it: the code in capitals, a colon, then the explanation."""
    return f"{code.name}: {explanation}"
