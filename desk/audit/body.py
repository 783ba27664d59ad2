"""The canonical JSON body of an audit record (the hashed content, so it must be stable)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from desk.ledger.column_types import canonical_decimal


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Plain notation, no exponent, no trailing zeros: 1E+1 -> "10", 0.500 -> "0.5"; exact
        # (normalize() would round to the context's 28 digits).
        return format(canonical_decimal(value), "f")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime in an audit body: {value!r}")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return _plain(value.value)
    raise TypeError(f"not representable in an audit body: {type(value).__name__}")


def canonical_body(fields: Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys; Decimals as exact plain strings, times as ISO-8601."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )
