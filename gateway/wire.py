"""A FIX message's fields read from its wire text in Python.

Every call into the quickfix binding releases and retakes the GIL, and on a busy desk another
thread (market data, the hedger, the audit writer) may take it in between, so reading a
QuoteRequest field by field (about 25 calls) made the quote wait again and again. The gateway
asks the engine for the text once (it needs it for the audit trail anyway) and reads the
fields here.

Only messages the engine has already parsed and validated against the dictionary come here,
so every field is where the dictionary puts it. A tag that occurs more than once (a field of
a repeating group) reads as its first occurrence: the first instance of the group.
"""

from __future__ import annotations

import quickfix as fix

from gateway import tags as t

SOH = "\x01"
# The header fields the gateway reads of what it sends, as they are found in the text.
_MARKERS = {
    tag: f"{SOH}{tag}=" for tag in (t.MSG_TYPE, t.POSS_DUP_FLAG, t.SENDER_COMP_ID, t.TARGET_COMP_ID)
}


def header_value(wire: str, tag: int) -> str | None:
    """The value of header field ``tag`` in ``wire`` (not BeginString, the first field), or
    None: what the gateway reads of a message it sends, without parsing the rest.

    The engine writes the header first, and a tag's field is found by ``SOH tag =``, which
    nothing else in a message can contain (a value cannot hold SOH). 2 µs where parsing the
    header into fields took 9, on the quote's way out (``toApp``).
    """
    marker = _MARKERS.get(tag) or f"{SOH}{tag}="
    start = wire.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = wire.find(SOH, start)
    return wire[start:] if end < 0 else wire[start:end]


class WireFields:
    """Tag -> value (first occurrence) of one message's wire text."""

    __slots__ = ("_first", "wire")

    def __init__(self, wire: str) -> None:
        self.wire = wire
        first: dict[int, str] = {}
        for pair in wire.split(SOH):
            if pair:
                text, _, value = pair.partition("=")
                first.setdefault(int(text), value)
        self._first = first

    @classmethod
    def of(cls, message: fix.Message) -> WireFields:
        """The fields of ``message`` (one call into the engine)."""
        return cls(message.toString())

    def get(self, tag: int) -> str | None:
        """The field's value, or None if the message does not carry it."""
        return self._first.get(tag)

    def required(self, tag: int) -> str:
        """A field the dictionary makes required (KeyError if it is missing after all)."""
        return self._first[tag]
