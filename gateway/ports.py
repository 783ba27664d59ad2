"""What the gateway needs from the desk: one narrow interface, domain types only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from desk.domain.messages import (
    OrderOutcome,
    OrderRequest,
    RfqOutcome,
    RfqRequest,
    StatusReport,
    StatusRequest,
)


class DeskPort(Protocol):
    """The desk core as the gateway sees it."""

    def request_quote(self, request: RfqRequest) -> RfqOutcome: ...

    def rfq_answered(self, request: RfqRequest, outcome: RfqOutcome) -> None:
        """``outcome`` went out as the answer to ``request`` (the desk logs it)."""

    def place_order(self, order: OrderRequest, reply: Callable[[OrderOutcome], None]) -> None:
        """Fill or reject ``order``; ``reply`` gets the outcome once, maybe on another thread
        (a fill after its booking's commit)."""

    def order_status(self, request: StatusRequest) -> StatusReport: ...
