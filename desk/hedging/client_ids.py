"""Deterministic exchange client order ids: the same batch, clip and venue give the same id.

A venue refuses a client order id it has seen, and the hedger queries an id before it ever
resends; together that makes placing one hedge order twice impossible, also across restarts.
"""

from __future__ import annotations

import re

# Binance's newClientOrderId: at most 36 of these characters.
_ALLOWED = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")


def hedge_client_order_id(tag: str, batch_id: int, clip_no: int, venue_index: int) -> str:
    """``otc<tag>-b<batch>-c<clip>-v<venue>``.

    ``tag`` is the ledger's random instance tag (two desks never share ids on a venue);
    ``venue_index`` is the venue's place in the configuration.
    """
    cid = f"otc{tag}-b{batch_id}-c{clip_no}-v{venue_index}"
    if not _ALLOWED.match(cid):
        raise ValueError(f"client order id {cid!r} is not valid on Binance-style venues")
    return cid
