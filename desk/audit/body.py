"""The canonical JSON body of an audit record (the hashed content, so it must be stable).

Compact JSON, keys sorted, non-ASCII as is, Decimals as exact plain strings, times as
ISO-8601. It is written by orjson, which gives the same text as the standard library's
encoder with these settings (``tests/audit/test_body.py`` checks it) in a tenth of the time:
every FIX message the desk audits and every booking builds one, the latter on the order's
path. What orjson refuses (a non-string key, an integer beyond 64 bits, a lone surrogate)
and every error goes through the standard encoder, which raises as it always did. Floats are
the one difference: orjson writes them in its own shortest form (``1e16``, the standard
encoder ``1e+16``); the desk's bodies hold none (money is Decimal).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson

from desk.ledger.column_types import canonical_decimal

# Datetimes, dataclasses and subclasses of str/int go to _plain as with the standard encoder
# (orjson would otherwise write a naive datetime, which _plain refuses, or a dataclass).
_ORJSON_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


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


def _orjson_plain(value: Any) -> Any:
    """``_plain`` for orjson, which passes subclasses of str and int here as well."""
    if isinstance(value, Enum):
        return _orjson_plain(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return _plain(value)


def canonical_body(fields: Mapping[str, Any]) -> str:
    """Compact JSON with sorted keys; Decimals as exact plain strings, times as ISO-8601."""
    try:
        return orjson.dumps(fields, default=_orjson_plain, option=_ORJSON_OPTIONS).decode()
    except (TypeError, ValueError):  # orjson.JSONEncodeError is a TypeError
        return standard_body(fields)


def standard_body(fields: Mapping[str, Any]) -> str:
    """The same text from the standard library's encoder (and its errors)."""
    return json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )
