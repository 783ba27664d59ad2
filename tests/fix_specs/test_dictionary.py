"""The desk's FIX 4.4 data dictionary (fix_specs/FIX44-desk.xml).

Checks the file's structure against an expected table written here from the ROE (independent
of the generator's own tables), checks how QuickFIX actually validates messages with it, and
that regenerating it from the stock FIX44.xml reproduces the committed file byte for byte (the
only check skipped when the stock file is not available).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
import quickfix as fix

from tests.fixclient import FieldValue, encode_message

REPO = Path(__file__).resolve().parents[2]
DESK_XML = REPO / "fix_specs" / "FIX44-desk.xml"
SCRIPT = REPO / "scripts" / "trim_fix44.py"
STOCK_XML = Path(
    os.environ.get("FIX44_STOCK_XML", "/tmp/qfsdist/quickfix-1.16.0/spec/FIX44.xml")  # noqa: S108
)

# --------------------------------------------------------------------------------------------
# Expected definitions of the messages the desk handles: tag -> required; a group is
# (required, [(tag, required), ...]) with its delimiter first.
# --------------------------------------------------------------------------------------------
Y, N = True, False
# fmt: off
RFQ_GROUP = [
    (55, Y), (537, N), (54, N), (38, N), (152, N), (64, N), (15, N), (1, N), (126, N), (60, N),
]
EXPECTED: dict[str, dict[int, bool | tuple[bool, list[tuple[int, bool]]]]] = {
    "R": {131: Y, 263: N, 146: (Y, RFQ_GROUP), 58: N},
    "D": {
        11: Y, 1: N, 21: N, 55: Y, 54: Y, 60: Y, 38: Y, 40: Y, 44: N, 15: N, 117: Y, 59: N, 58: N,
    },
    "H": {37: N, 11: Y, 1: N, 55: Y, 54: Y},
    "Z": {131: N, 117: Y, 298: Y, 1: N, 295: (N, [(55, N)])},
    "S": {
        131: N, 117: Y, 537: N, 55: Y, 54: N, 38: N, 64: N, 15: N, 1: N,
        132: N, 133: N, 134: N, 135: N, 62: N, 60: N, 58: N,
    },
    "AG": {131: Y, 658: Y, 146: (Y, RFQ_GROUP), 58: N},
    "8": {
        37: Y, 11: N, 17: Y, 150: Y, 39: Y, 103: N, 378: N, 1: N, 64: N, 55: Y, 54: Y, 38: N,
        40: N, 44: N, 15: N, 59: N, 32: N, 31: N, 151: Y, 14: Y, 6: Y, 60: N, 381: N, 58: N,
    },
    # Stock FIX 4.4:
    "j": {45: N, 372: Y, 379: N, 380: Y, 58: N, 354: N, 355: N},
}
# fmt: on
ADMIN = {"0", "1", "2", "3", "4", "5", "A"}
# Every tag the ROE names.
ROE_TAGS = {
    1, 6, 11, 14, 15, 17, 31, 32, 37, 38, 39, 40, 44, 54, 55, 58, 59, 60, 62, 64, 97, 103, 117,
    131, 132, 133, 134, 135, 141, 146, 150, 151, 152, 263, 298, 371, 373, 380, 381, 537, 553,
    554, 658,
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
class Dictionary:
    """The generated XML read with ElementTree, components flattened."""

    def __init__(self, path: Path) -> None:
        self.root = ET.parse(path).getroot()  # noqa: S314 - our own file
        self.numbers = {
            f.get("name", ""): int(f.get("number", "0")) for f in self._section("fields")
        }
        self.field_defs = {int(f.get("number", "0")): f for f in self._section("fields")}
        self.components = {c.get("name", ""): c for c in self._section("components")}
        self.messages = {m.get("msgtype", ""): m for m in self._section("messages")}

    def _section(self, tag: str) -> ET.Element:
        found = self.root.find(tag)
        assert found is not None, f"<{tag}> missing"
        return found

    def layout(self, el: ET.Element) -> dict[int, bool | tuple[bool, list[tuple[int, bool]]]]:
        """Tag -> required (or (required, group fields)) at one level, components inlined
        (a field of a component counts as required only if the component is too)."""
        out: dict[int, bool | tuple[bool, list[tuple[int, bool]]]] = {}
        for tag, req, children in self._flat(el, True):
            if children is None:
                out[tag] = req
            else:
                out[tag] = (req, [(t, r) for t, r, _ in children])
        return out

    def _flat(
        self, el: ET.Element, enclosing: bool
    ) -> list[tuple[int, bool, list[tuple[int, bool, object]] | None]]:
        out: list[tuple[int, bool, list[tuple[int, bool, object]] | None]] = []
        for child in el:
            req = child.get("required") == "Y" and enclosing
            name = child.get("name", "")
            if child.tag == "component":
                out.extend(self._flat(self.components[name], req))
            elif child.tag == "group":
                out.append((self.numbers[name], req, list(self._flat(child, True))))
            else:
                out.append((self.numbers[name], req, None))
        return out

    def enums(self, tag: int) -> list[str]:
        return [v.get("enum", "") for v in self.field_defs[tag]]


@pytest.fixture(scope="module")
def xml() -> Dictionary:
    return Dictionary(DESK_XML)


@pytest.fixture(scope="module")
def dd() -> fix.DataDictionary:
    """The dictionary as QuickFIX loads it, with the acceptor's validation settings."""
    d = fix.DataDictionary(str(DESK_XML))
    d.checkUserDefinedFields(True)
    d.allowUnknownMsgFields(False)
    d.checkFieldsHaveValues(True)
    d.checkFieldsOutOfOrder(False)
    return d


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("trim_fix44", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


HEADER: list[tuple[int, FieldValue]] = [
    (49, "ACME"),
    (56, "OTCDESK"),
    (34, 2),
    (52, "20240102-03:04:05.678"),
]
TS = "20240102-03:04:05.678"


def message(
    dd: fix.DataDictionary, msg_type: str, body: list[tuple[int, FieldValue]]
) -> fix.Message:
    raw = encode_message(msg_type, HEADER + body).decode()
    return fix.Message(raw, dd, False)


def validate(dd: fix.DataDictionary, msg_type: str, body: list[tuple[int, FieldValue]]) -> None:
    dd.validate(message(dd, msg_type, body))


VALID: dict[str, list[tuple[int, FieldValue]]] = {
    "R": [
        (131, "rfq-1"), (263, "1"), (146, 1), (55, "BTC/USDT"), (537, 1), (54, "1"),
        (38, "1.5"), (64, "20240104"), (15, "USDT"), (1, "sub-1"), (126, TS), (60, TS),
        (58, "hello"),
    ],
    "R-cash": [(131, "rfq-2"), (146, 1), (55, "ETH/USD"), (152, "25000")],
    "D": [
        (11, "c-1"), (1, "sub-1"), (21, "1"), (55, "BTC/USDT"), (54, "2"), (60, TS),
        (38, "0.5"), (40, "D"), (44, "50000.5"), (15, "USDT"), (117, "Q-1"), (59, "4"),
        (58, "x"),
    ],
    "H": [(37, "O-1"), (11, "c-1"), (1, "sub-1"), (55, "BTC/USDT"), (54, "1")],
    "Z": [(131, "rfq-1"), (117, "Q-1"), (298, 5), (1, "sub-1"), (295, 1), (55, "BTC/USDT")],
    "S": [
        (131, "rfq-1"), (117, "Q-1"), (537, 1), (55, "BTC/USDT"), (54, "1"), (38, "1"),
        (64, "20240104"), (15, "USDT"), (1, "sub-1"), (133, "50010"), (135, "1"), (62, TS),
        (60, TS), (58, "ok"),
    ],
    "AG": [
        (131, "rfq-1"), (658, 11), (146, 1), (55, "BTC/USDT"), (54, "1"), (38, "900"),
        (58, "CREDIT_LIMIT: no line"),
    ],
    "8": [
        (37, "O-1"), (11, "c-1"), (17, "E-1"), (150, "F"), (39, "2"), (1, "sub-1"),
        (64, "20240104"), (55, "BTC/USDT"), (54, "1"), (38, "1"), (40, "D"), (44, "50010"),
        (15, "USDT"), (59, "4"), (32, "1"), (31, "50010"), (151, "0"), (14, "1"), (6, "50010"),
        (60, TS), (381, "50010"),
    ],
    "j": [(45, 7), (372, "V"), (380, 3), (58, "UNSUPPORTED")],
    # Types the desk does not support: stock definitions, so valid ones pass.
    "V": [(262, "md-1"), (263, "0"), (264, 1), (267, 1), (269, "0"), (146, 1), (55, "BTC/USDT")],
    "E": [
        (66, "L-1"), (394, 3), (68, 1), (73, 1), (11, "c-9"), (67, 1), (55, "BTC/USDT"),
        (54, "1"), (38, "1"), (40, "2"), (44, "1"),
    ],
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Structure
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("msg_type", sorted(EXPECTED))
def test_supported_message_layout(xml: Dictionary, msg_type: str) -> None:
    got = xml.layout(xml.messages[msg_type])
    assert got == EXPECTED[msg_type]


@pytest.mark.parametrize(("msg_type", "count_tag"), [("R", 146), ("AG", 146), ("Z", 295)])
def test_groups_start_with_symbol(xml: Dictionary, msg_type: str, count_tag: int) -> None:
    group = xml.layout(xml.messages[msg_type])[count_tag]
    assert isinstance(group, tuple)
    assert group[1][0][0] == 55


def test_admin_messages_header_and_trailer(xml: Dictionary) -> None:
    assert set(xml.messages) >= ADMIN
    assert all(xml.messages[t].get("msgcat") == "admin" for t in ADMIN)
    logon = xml.layout(xml.messages["A"])
    assert {98: Y, 108: Y, 141: N, 553: N, 554: N}.items() <= logon.items()
    reject = xml.layout(xml.messages["3"])
    assert {45: Y, 371: N, 372: N, 373: N, 58: N}.items() <= reject.items()
    header = xml.layout(xml.root.find("header"))  # type: ignore[arg-type]
    assert {8: Y, 9: Y, 35: Y, 49: Y, 56: Y, 34: Y, 52: Y, 43: N, 97: N, 122: N}.items() <= (
        header.items()
    )
    trailer = xml.layout(xml.root.find("trailer"))  # type: ignore[arg-type]
    assert trailer == {93: N, 89: N, 10: Y}


def test_every_fix44_message_type_is_defined(xml: Dictionary) -> None:
    # FIX 4.4 (QuickFIX spec) defines 93 message types; all stay, trimmed or stock.
    assert len(xml.messages) == 93
    assert {"E", "V", "F", "G", "AE", "AB", "x", "c"} <= set(xml.messages)
    md_group = xml.layout(xml.messages["V"])[146]  # MarketDataRequest keeps its own group
    assert isinstance(md_group, tuple)
    assert md_group[1][0] == (55, N)
    assert len(md_group[1]) > 10


def test_roe_tags_are_defined(xml: Dictionary) -> None:
    assert set(xml.field_defs) >= ROE_TAGS


def test_only_referenced_fields_are_defined(xml: Dictionary) -> None:
    referenced = {
        el.get("name")
        for section in ("header", "trailer", "messages", "components")
        for el in xml.root.find(section).iter()  # type: ignore[union-attr]
        if el.tag in ("field", "group")
    }
    assert referenced == set(xml.numbers)


def test_enums(xml: Dictionary) -> None:
    assert xml.enums(54) == ["1", "2"]  # Side
    assert {"1", "2", "D"} <= set(xml.enums(40))  # OrdType: stock, the app rejects non-D
    assert len(xml.enums(40)) == 17
    assert xml.enums(59) == ["0", "1", "2", "3", "4", "5", "6", "7"]  # TimeInForce: stock
    assert xml.enums(537) == ["0", "1", "2", "3"]  # QuoteType: stock
    assert xml.enums(298) == ["1", "2", "3", "4", "5"]  # QuoteCancelType + 5 (ROE)
    assert {"1", "2", "3", "6", "8", "11", "99"} <= set(xml.enums(658))  # + 11 (ROE)
    assert {"1", "2", "3", "5", "6", "99"} <= set(xml.enums(103))
    assert "3" in xml.enums(380)
    assert {"F", "8", "I"} <= set(xml.enums(150))
    assert {"2", "8"} <= set(xml.enums(39))
    assert xml.enums(263) == ["0", "1", "2"]


# --------------------------------------------------------------------------------------------
# QuickFIX's view
# --------------------------------------------------------------------------------------------
def test_quickfix_loads_it(dd: fix.DataDictionary) -> None:
    assert dd.getVersion() == "FIX.4.4"
    for msg_type in [*EXPECTED, *ADMIN, "E", "V"]:
        assert dd.isMsgType(msg_type), msg_type
    for msg_type, layout in EXPECTED.items():
        for tag, spec in layout.items():
            assert dd.isMsgField(msg_type, tag), (msg_type, tag)
            required = spec[0] if isinstance(spec, tuple) else spec
            assert dd.isRequiredField(msg_type, tag) == required, (msg_type, tag)
        assert not dd.isMsgField(msg_type, 99)  # StopPx: stock, but not the desk's
    assert dd.isGroup("R", 146)
    assert dd.isGroup("AG", 146)
    assert dd.isGroup("Z", 295)
    assert not dd.isMsgField("8", 117)  # FIX 4.4's ExecutionReport has no QuoteID


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_messages_pass(dd: fix.DataDictionary, name: str) -> None:
    validate(dd, name.split("-")[0], VALID[name])


def without(body: list[tuple[int, FieldValue]], tag: int) -> list[tuple[int, FieldValue]]:
    return [(t, v) for t, v in body if t != tag]


def replaced(
    body: list[tuple[int, FieldValue]], tag: int, value: str
) -> list[tuple[int, FieldValue]]:
    return [(t, value if t == tag else v) for t, v in body]


def test_invalid_messages_are_refused(dd: fix.DataDictionary) -> None:
    rfq, order = VALID["R"], VALID["D"]
    cases: list[tuple[str, list[tuple[int, FieldValue]], type[Exception]]] = [
        ("D", without(order, 117), fix.RequiredTagMissing),  # QuoteID required (ROE)
        ("D", without(order, 55), fix.RequiredTagMissing),
        ("D", without(order, 38), fix.RequiredTagMissing),
        ("D", [*order, (99, "1")], fix.TagNotDefinedForMessage),  # StopPx
        ("D", [*order, (5001, "x")], fix.InvalidTagNumber),  # user-defined tag
        ("D", replaced(order, 54, "5"), fix.IncorrectTagValue),  # Side only 1/2
        ("D", replaced(order, 38, "abc"), fix.IncorrectDataFormat),
        ("D", replaced(order, 60, "yesterday"), fix.IncorrectDataFormat),
        ("R", without(rfq, 131), fix.RequiredTagMissing),
        ("R", without(rfq, 55), fix.RequiredTagMissing),  # Symbol required in the group
        ("R", [*rfq, (44, "1")], fix.TagNotDefinedForMessage),  # Price
        ("R", replaced(rfq, 263, "7"), fix.IncorrectTagValue),
        ("R", replaced(rfq, 146, "2"), fix.RepeatingGroupCountMismatch),
        ("H", without(VALID["H"], 54), fix.RequiredTagMissing),
        ("Z", without(VALID["Z"], 298), fix.RequiredTagMissing),
        ("Z", replaced(VALID["Z"], 298, "9"), fix.IncorrectTagValue),
        ("8", [*VALID["8"], (117, "Q-1")], fix.TagNotDefinedForMessage),
        ("V", replaced(VALID["V"], 263, "7"), fix.IncorrectTagValue),
    ]
    for msg_type, body, error in cases:
        with pytest.raises(error):
            validate(dd, msg_type, body)
        # ... and a message type FIX 4.4 does not define is refused as such.
    with pytest.raises(fix.InvalidMessageType):
        validate(dd, "ZZ", [(58, "x")])


def test_engine_does_not_check_values_inside_groups(dd: fix.DataDictionary) -> None:
    """QuickFIX 1.16 (C++) checks required fields inside repeating groups, but not their
    formats or enum values: the application must validate Side, OrderQty, CashOrderQty and
    QuoteType inside QuoteRequest's NoRelatedSym itself."""
    validate(dd, "R", replaced(VALID["R"], 54, "7"))
    validate(dd, "R", replaced(VALID["R"], 38, "lots"))


# --------------------------------------------------------------------------------------------
# Regeneration
# --------------------------------------------------------------------------------------------
def test_generator_tables_match_expected() -> None:
    script = load_script()
    assert script.DEFAULT_OUTPUT == DESK_XML
    assert set(script.TRIMMED) == set(EXPECTED) - {"j"}


@pytest.mark.skipif(not STOCK_XML.is_file(), reason=f"stock FIX44.xml not at {STOCK_XML}")
def test_regenerating_reproduces_committed_file() -> None:
    script = load_script()
    stock = STOCK_XML.read_bytes()
    # The serialiser writes the stock file back unchanged, so diffs against stock are exact.
    assert script.serialize(ET.fromstring(stock)).encode() == stock.rstrip(b"\n") + b"\n"  # noqa: S314
    assert script.generate(stock) == DESK_XML.read_bytes(), (
        "fix_specs/FIX44-desk.xml is stale: run scripts/trim_fix44.py (see fix_specs/README.md)"
    )
