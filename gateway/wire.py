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

SOH = "\x01"
# The header's tags as the engine knows them (``Message.isHeaderField``, tested). It writes
# the header first, so the first tag not in this set begins the body.
HEADER_TAGS = frozenset(
    {8, 9, 34, 35, 43, 49, 50, 52, 56, 57, 90, 97, 115, 116, 122, 128, 129, 142, 143, 144}
    | {145, 212, 213, 347, 369, 370, 627, 1128, 1129}
)


class WireFields:
    """Tag -> value (first occurrence) of one message's wire text."""

    __slots__ = ("_first", "wire")

    def __init__(self, wire: str, *, header_only: bool = False) -> None:
        self.wire = wire
        first: dict[int, str] = {}
        for pair in wire.split(SOH):
            if pair:
                text, _, value = pair.partition("=")
                tag = int(text)
                if header_only and tag not in HEADER_TAGS:
                    break
                first.setdefault(tag, value)
        self._first = first

    @classmethod
    def of(cls, message: fix.Message) -> WireFields:
        """The fields of ``message`` (one call into the engine)."""
        return cls(message.toString())

    @classmethod
    def header_of(cls, message: fix.Message) -> WireFields:
        """The header fields of ``message`` (and its whole wire text): what the gateway reads
        of an outgoing message, without the body's fields."""
        return cls(message.toString(), header_only=True)

    def get(self, tag: int) -> str | None:
        """The field's value, or None if the message does not carry it."""
        return self._first.get(tag)

    def required(self, tag: int) -> str:
        """A field the dictionary makes required (KeyError if it is missing after all)."""
        return self._first[tag]
