#!/usr/bin/env python3
"""Generate the desk's FIX 4.4 data dictionary from QuickFIX's stock ``spec/FIX44.xml``.

Usage::

    python scripts/trim_fix44.py /path/to/quickfix-1.16.0/spec/FIX44.xml
    python scripts/trim_fix44.py /path/to/FIX44.xml --check   # exit 1 if the file is stale

The output (``fix_specs/FIX44-desk.xml`` by default) is what the acceptor loads with
``UseDataDictionary=Y``, ``AllowUnknownMsgFields=N``, ``ValidateUserDefinedFields=Y`` and
``ValidateFieldsHaveValues=Y``. What it contains:

* ``<header>``, ``<trailer>`` and the admin messages (0, 1, 2, 3, 4, 5, A): exactly as stock,
  the session layer needs them.
* The application messages the desk supports (``TRIMMED`` below): only the fields the desk
  uses, components expanded inline, FIX 4.4's required flags kept, tightened only where the
  desk's Rules of Engagement (ROE) make a field required. A supported message carrying any
  other field is therefore refused by the engine with a session Reject (373=2).
* Every other FIX 4.4 application message: its stock definition, so that a *valid* message of a
  type the desk does not support reaches the application (which answers BusinessMessageReject
  380=3) instead of being refused as an invalid MsgType.
* ``<components>`` and ``<fields>``: only what the rest of the file references, in stock order,
  with stock enums except for ``ENUM_OVERRIDES``.

Stock definitions are written back byte-for-byte in the stock file's own layout, so
``diff stock/FIX44.xml fix_specs/FIX44-desk.xml`` shows exactly the desk's changes.
The trimmed definitions are checked against the stock ones on every run (see ``_check``):
each field must exist at the same place in the stock message (unless listed in
``EXTENSIONS``), stock-required fields cannot be dropped or relaxed, extra required flags must
be listed in ``TIGHTENED``, and the stock field order is kept.

Only the standard library is used.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "fix_specs" / "FIX44-desk.xml"

ADMIN_MSGTYPES = ("0", "1", "2", "3", "4", "5", "A")


@dataclass(frozen=True)
class Fld:
    """A field of a trimmed message (or of one of its groups)."""

    name: str
    required: bool = False


@dataclass(frozen=True)
class Grp:
    """A repeating group of a trimmed message; its first child is the delimiter."""

    name: str
    required: bool
    children: tuple[Fld | Grp, ...] = field(default_factory=tuple)


Node = Fld | Grp

Y = True  # readability in the tables below

# --------------------------------------------------------------------------------------------
# The desk's application messages. Field order follows stock FIX 4.4 (components flattened).
# --------------------------------------------------------------------------------------------
# QuoteRequest's related-symbol group; the QuoteRequestReject echoes the same fields.
RELATED_SYM_FIELDS = (
    Fld("Symbol", Y),
    Fld("QuoteType"),
    Fld("Side"),
    Fld("OrderQty"),
    Fld("CashOrderQty"),
    Fld("SettlDate"),
    Fld("Currency"),
    Fld("Account"),
    Fld("ExpireTime"),
    Fld("TransactTime"),
)

TRIMMED: dict[str, tuple[Node, ...]] = {
    # Inbound: request for quote (ROE "Request for quote").
    "R": (
        Fld("QuoteReqID", Y),
        Fld("SubscriptionRequestType"),  # not in FIX 4.4's QuoteRequest: see EXTENSIONS
        Grp(
            "NoRelatedSym",
            Y,
            RELATED_SYM_FIELDS,
        ),
        Fld("Text"),
    ),
    # Inbound: acceptance of a quote (ROE "Acceptance").
    "D": (
        Fld("ClOrdID", Y),
        Fld("Account"),
        Fld("HandlInst"),
        Fld("Symbol", Y),
        Fld("Side", Y),
        Fld("TransactTime", Y),
        Fld("OrderQty", Y),
        Fld("OrdType", Y),
        Fld("Price"),
        Fld("Currency"),
        Fld("QuoteID", Y),
        Fld("TimeInForce"),
        Fld("Text"),
    ),
    # Inbound: order status (ROE "Order status").
    "H": (
        Fld("OrderID"),
        Fld("ClOrdID", Y),
        Fld("Account"),
        Fld("Symbol", Y),
        Fld("Side", Y),
    ),
    # Both ways: the desk cancels quotes; a counterparty ends a quote stream.
    "Z": (
        Fld("QuoteReqID"),
        Fld("QuoteID", Y),  # required in stock FIX 4.4, kept so
        Fld("QuoteCancelType", Y),
        Fld("Account"),
        Grp("NoQuoteEntries", False, (Fld("Symbol"),)),
    ),
    # Outbound: the desk's quote.
    "S": (
        Fld("QuoteReqID"),
        Fld("QuoteID", Y),
        Fld("QuoteType"),
        Fld("Symbol", Y),
        Fld("Side"),
        Fld("OrderQty"),
        Fld("SettlDate"),
        Fld("Currency"),
        Fld("Account"),
        Fld("BidPx"),
        Fld("OfferPx"),
        Fld("BidSize"),
        Fld("OfferSize"),
        Fld("ValidUntilTime"),
        Fld("TransactTime"),
        Fld("Text"),
    ),
    # Outbound: quote request refused; the request's related-symbol group is echoed, so the
    # group holds everything the desk accepts in QuoteRequest's group (all of it stock here).
    "AG": (
        Fld("QuoteReqID", Y),
        Fld("QuoteRequestRejectReason", Y),
        Grp(
            "NoRelatedSym",
            Y,
            RELATED_SYM_FIELDS,
        ),
        Fld("Text"),
    ),
    # Outbound: fills, order rejects, order status. FIX 4.4's ExecutionReport has no QuoteID
    # field, so the desk must not send one there.
    "8": (
        Fld("OrderID", Y),
        Fld("ClOrdID"),
        Fld("ExecID", Y),
        Fld("ExecType", Y),
        Fld("OrdStatus", Y),
        Fld("OrdRejReason"),
        Fld("ExecRestatementReason"),
        Fld("Account"),
        Fld("SettlDate"),
        Fld("Symbol", Y),
        Fld("Side", Y),
        Fld("OrderQty"),
        Fld("OrdType"),
        Fld("Price"),
        Fld("Currency"),
        Fld("TimeInForce"),
        Fld("LastQty"),
        Fld("LastPx"),
        Fld("LeavesQty", Y),
        Fld("CumQty", Y),
        Fld("AvgPx", Y),
        Fld("TransactTime"),
        Fld("GrossTradeAmt"),
        Fld("Text"),
    ),
}
# BusinessMessageReject (j) stays stock: it is not in TRIMMED.

# Fields a trimmed message has that its stock FIX 4.4 definition does not: (msgtype, path).
EXTENSIONS: dict[tuple[str, str], str] = {
    ("R", "SubscriptionRequestType"): "ROE 'Streaming quotes': 263=1 opens a quote stream",
}

# Fields made required although stock FIX 4.4 does not require them: (msgtype, path).
# "Instrument is required" in stock means "Symbol is required" for the desk, which identifies
# instruments only by Symbol(55).
TIGHTENED: dict[tuple[str, str], str] = {
    ("R", "NoRelatedSym/Symbol"): "ROE: Symbol identifies the instrument",
    ("AG", "NoRelatedSym/Symbol"): "echo of the request's group, which always has Symbol",
    ("D", "Symbol"): "stock requires the Instrument component",
    ("D", "OrderQty"): "stock requires the OrderQtyData component; the desk sizes by OrderQty",
    ("D", "QuoteID"): "ROE: QuoteID is required on NewOrderSingle",
    ("H", "Symbol"): "stock requires the Instrument component",
    ("S", "Symbol"): "stock requires the Instrument component",
    ("8", "Symbol"): "stock requires the Instrument component",
}

# Enum changes, by field name: ("only", values) keeps only those stock values,
# ("add", ((enum, description), ...)) adds values (kept in ascending numeric order).
ENUM_OVERRIDES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    # ROE: 1 = client buys, 2 = client sells; nothing else means anything to the desk.
    "Side": ("only", (("1", ""), ("2", ""))),
    # ROE: the desk cancels single quotes with 298=5 (value from FIX 5.0, absent in 4.4).
    "QuoteCancelType": ("add", (("5", "CANCEL_SPECIFIED_SINGLE_QUOTE"),)),
    # ROE: 658=11 for an insufficient credit line (value from FIX 5.0, absent in 4.4).
    "QuoteRequestRejectReason": ("add", (("11", "INSUFFICIENT_CREDIT"),)),
}


# --------------------------------------------------------------------------------------------
# Stock model
# --------------------------------------------------------------------------------------------
@dataclass
class StockNode:
    """A stock message's field or group with components flattened away."""

    kind: str  # "field" or "group"
    name: str
    required: bool  # effective: its own flag and those of every enclosing component
    children: list[StockNode] = field(default_factory=list)


class StockSpec:
    """The parsed stock dictionary."""

    def __init__(self, root: ET.Element) -> None:
        if root.tag != "fix" or root.get("major") != "4" or root.get("minor") != "4":
            raise SystemExit("input is not a FIX 4.4 dictionary")
        self.root = root
        self.header = _child(root, "header")
        self.trailer = _child(root, "trailer")
        self.messages = list(_child(root, "messages"))
        self.components = {c.get("name", ""): c for c in _child(root, "components")}
        self.fields = list(_child(root, "fields"))
        self.field_names = {f.get("name", "") for f in self.fields}
        self.by_msgtype = {m.get("msgtype", ""): m for m in self.messages}

    def flatten(self, parent: ET.Element, enclosing_required: bool = True) -> list[StockNode]:
        out: list[StockNode] = []
        for child in parent:
            req = child.get("required") == "Y" and enclosing_required
            name = child.get("name", "")
            if child.tag == "field":
                out.append(StockNode("field", name, req))
            elif child.tag == "group":
                out.append(StockNode("group", name, req, self.flatten(child, True)))
            elif child.tag == "component":
                out.extend(self.flatten(self.components[name], req))
            else:
                raise SystemExit(f"unexpected element <{child.tag}> in {parent.get('name')}")
        return out


def _child(parent: ET.Element, tag: str) -> ET.Element:
    found = parent.find(tag)
    if found is None:
        raise SystemExit(f"<{tag}> missing from the stock dictionary")
    return found


# --------------------------------------------------------------------------------------------
# Checks of the trimmed definitions against stock
# --------------------------------------------------------------------------------------------
def _check(stock: StockSpec) -> list[str]:
    errors: list[str] = []
    used_ext: set[tuple[str, str]] = set()
    used_tight: set[tuple[str, str]] = set()
    for msgtype, nodes in TRIMMED.items():
        if msgtype in ADMIN_MSGTYPES or msgtype not in stock.by_msgtype:
            errors.append(f"{msgtype}: not a stock application message")
            continue
        flat = stock.flatten(stock.by_msgtype[msgtype])
        _check_level(msgtype, "", nodes, flat, stock, errors, used_ext, used_tight)
    errors += [f"{k}: unused EXTENSIONS entry" for k in EXTENSIONS.keys() - used_ext]
    errors += [f"{k}: unused TIGHTENED entry" for k in TIGHTENED.keys() - used_tight]
    for name in ENUM_OVERRIDES:
        if name not in stock.field_names:
            errors.append(f"ENUM_OVERRIDES: unknown field {name}")
    return errors


def _check_level(
    msgtype: str,
    prefix: str,
    nodes: Sequence[Node],
    flat: list[StockNode],
    stock: StockSpec,
    errors: list[str],
    used_ext: set[tuple[str, str]],
    used_tight: set[tuple[str, str]],
) -> None:
    index = {n.name: (i, n) for i, n in enumerate(flat)}
    last = -1
    kept: set[str] = set()
    for node in nodes:
        path = prefix + node.name
        kept.add(node.name)
        if node.name not in stock.field_names:
            errors.append(f"{msgtype} {path}: no such FIX 4.4 field")
        if node.name not in index:
            if (msgtype, path) in EXTENSIONS:
                used_ext.add((msgtype, path))
            else:
                errors.append(f"{msgtype} {path}: not in the stock message at this level")
            continue
        pos, sn = index[node.name]
        if pos < last:
            errors.append(f"{msgtype} {path}: out of stock order")
        last = pos
        is_group = isinstance(node, Grp)
        if is_group != (sn.kind == "group"):
            errors.append(f"{msgtype} {path}: field/group kind differs from stock")
        if sn.required and not node.required:
            errors.append(f"{msgtype} {path}: stock requires it")
        if node.required and not sn.required:
            if (msgtype, path) in TIGHTENED:
                used_tight.add((msgtype, path))
            else:
                errors.append(f"{msgtype} {path}: required here but not in stock (TIGHTENED?)")
        if isinstance(node, Grp):
            if not node.children or (sn.children and node.children[0].name != sn.children[0].name):
                errors.append(f"{msgtype} {path}: group must start with the stock delimiter")
            _check_level(
                msgtype, path + "/", node.children, sn.children, stock, errors, used_ext, used_tight
            )
    for sn in flat:
        if sn.required and sn.name not in kept:
            errors.append(f"{msgtype} {prefix}{sn.name}: stock-required but dropped")


# --------------------------------------------------------------------------------------------
# Building the output tree
# --------------------------------------------------------------------------------------------
def _trimmed_element(stock_msg: ET.Element, nodes: Sequence[Node]) -> ET.Element:
    msg = ET.Element("message", dict(stock_msg.attrib))
    _append_nodes(msg, nodes)
    return msg


def _append_nodes(parent: ET.Element, nodes: Iterable[Node]) -> None:
    for node in nodes:
        attrs = {"name": node.name, "required": "Y" if node.required else "N"}
        el = ET.SubElement(parent, "group" if isinstance(node, Grp) else "field", attrs)
        if isinstance(node, Grp):
            _append_nodes(el, node.children)


def _walk(el: ET.Element) -> Iterator[ET.Element]:
    yield el
    for child in el:
        yield from _walk(child)


def _enum_override(stock_field: ET.Element) -> ET.Element:
    name = stock_field.get("name", "")
    if name not in ENUM_OVERRIDES:
        return stock_field
    mode, values = ENUM_OVERRIDES[name]
    stock_values = {v.get("enum", ""): v for v in stock_field}
    out = ET.Element("field", dict(stock_field.attrib))
    if mode == "only":
        for enum, _ in values:
            if enum not in stock_values:
                raise SystemExit(f"ENUM_OVERRIDES {name}: {enum} is not a stock value")
            out.append(stock_values[enum])
    elif mode == "add":
        merged = {k: dict(v.attrib) for k, v in stock_values.items()}
        for enum, description in values:
            if enum in merged:
                raise SystemExit(f"ENUM_OVERRIDES {name}: {enum} is already a stock value")
            merged[enum] = {"enum": enum, "description": description}

        def order(e: str) -> tuple[bool, int, str]:
            return (not e.isdigit(), int(e) if e.isdigit() else 0, e)

        for enum in sorted(merged, key=order):
            ET.SubElement(out, "value", merged[enum])
    else:
        raise SystemExit(f"ENUM_OVERRIDES {name}: unknown mode {mode}")
    return out


def build(stock: StockSpec) -> ET.Element:
    errors = _check(stock)
    if errors:
        listing = "\n  ".join(errors)
        raise SystemExit(f"trimmed definitions disagree with stock FIX 4.4:\n  {listing}")

    root = ET.Element("fix", dict(stock.root.attrib))
    root.append(stock.header)
    messages = ET.SubElement(root, "messages")
    for msg in stock.messages:
        msgtype = msg.get("msgtype", "")
        messages.append(_trimmed_element(msg, TRIMMED[msgtype]) if msgtype in TRIMMED else msg)
    root.append(stock.trailer)

    # Components referenced (transitively) by the header, messages and trailer.
    needed: set[str] = set()
    todo = [root]
    while todo:
        for el in _walk(todo.pop()):
            name = el.get("name", "")
            if el.tag == "component" and name not in needed:
                needed.add(name)
                todo.append(stock.components[name])
    components = ET.SubElement(root, "components")
    for name, comp in stock.components.items():
        if name in needed:
            components.append(comp)

    referenced = {el.get("name", "") for el in _walk(root) if el.tag in ("field", "group")}
    fields = ET.SubElement(root, "fields")
    for f in stock.fields:
        if f.get("name") in referenced:
            fields.append(_enum_override(f))
    missing = referenced - {f.get("name", "") for f in fields}
    if missing:
        raise SystemExit(f"fields referenced but not defined: {sorted(missing)}")
    return root


# --------------------------------------------------------------------------------------------
# Serialisation in the stock file's own layout (one space per level, single quotes, " />")
# --------------------------------------------------------------------------------------------
def _attr(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")
    )


def serialize(el: ET.Element, depth: int = 0) -> str:
    attrs = "".join(f" {k}='{_attr(v)}'" for k, v in el.attrib.items())
    pad = " " * depth
    if len(el) == 0 and depth > 0:
        return f"{pad}<{el.tag}{attrs} />\n"
    inner = "".join(serialize(child, depth + 1) for child in el)
    return f"{pad}<{el.tag}{attrs}>\n{inner}{pad}</{el.tag}>\n"


def generate(stock_bytes: bytes) -> bytes:
    """The desk dictionary (bytes) for the given stock FIX44.xml content."""
    stock = StockSpec(ET.fromstring(stock_bytes))  # noqa: S314 - trusted local file
    digest = hashlib.sha256(stock_bytes).hexdigest()
    banner = (
        "<!-- The OTC desk's FIX 4.4 data dictionary. GENERATED by scripts/trim_fix44.py from\n"
        "     QuickFIX 1.16.0 spec/FIX44.xml (sha256 " + digest + ").\n"
        "     Do not edit by hand: change the script, regenerate (see fix_specs/README.md). -->\n"
    )
    return (banner + serialize(build(stock))).encode("ascii")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stock", type=Path, help="stock FIX44.xml (quickfix sdist spec/FIX44.xml)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 if the output is out of date"
    )
    args = parser.parse_args(argv)
    data = generate(args.stock.read_bytes())
    if args.check:
        current = args.output.read_bytes() if args.output.exists() else b""
        if current != data:
            print(f"{args.output} is out of date; regenerate it", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
