"""Rendering the desk's positions (per instrument and per asset) as a table or JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import TextIO

from desk.domain.money import fmt

Positions = Mapping[str, Decimal]


def write_json(by_symbol: Positions, by_asset: Positions, out: TextIO) -> None:
    """Decimals as strings: JSON numbers would be read back as floats."""
    document = {
        "instruments": {name: fmt(net) for name, net in sorted(by_symbol.items())},
        "assets": {name: fmt(net) for name, net in sorted(by_asset.items())},
    }
    out.write(json.dumps(document, indent=2) + "\n")


def write_table(by_symbol: Positions, by_asset: Positions, out: TextIO) -> None:
    """Two aligned tables: net base quantity per instrument, net amount per asset."""
    for title, rows in (("instrument", by_symbol), ("asset", by_asset)):
        cells = [(name, fmt(net)) for name, net in sorted(rows.items())]
        name_w = max([len(title), *(len(n) for n, _ in cells)])
        net_w = max([len("net"), *(len(v) for _, v in cells)])
        out.write(f"{title.ljust(name_w)}  {'net'.rjust(net_w)}\n")
        for name, net in cells:
            out.write(f"{name.ljust(name_w)}  {net.rjust(net_w)}\n")
        out.write("\n")
