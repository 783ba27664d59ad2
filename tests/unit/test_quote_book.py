"""desk.quoting.quote_book: who may execute a quote, until when, and only once."""

from __future__ import annotations

import gc
import threading
from dataclasses import fields, replace
from datetime import timedelta
from decimal import Decimal

import pytest

from desk.domain.pricing_inputs import PricingInputs
from desk.domain.rejects import OrderRejectCode
from desk.domain.side import Side
from desk.quoting.quote_book import RETENTION, QuoteBook, QuoteLookupError
from tests.unit.builders import T0, quote

US = timedelta(microseconds=1)


def lookup_error(book: QuoteBook, quote_id: str, counterparty: str = "CLIENT1") -> QuoteLookupError:
    with pytest.raises(QuoteLookupError) as caught:
        book.lookup(quote_id, counterparty, T0)
    return caught.value


def test_lookup_when_quote_never_issued_then_quote_unknown() -> None:
    error = lookup_error(QuoteBook(), "Q1-404")

    assert error.code is OrderRejectCode.QUOTE_UNKNOWN
    assert error.text == "quote Q1-404 is not known"


def test_lookup_when_quote_belongs_to_other_counterparty_then_same_answer_as_unknown() -> None:
    book = QuoteBook()
    theirs = quote(counterparty="CLIENT2")
    book.add(theirs)

    error = lookup_error(book, theirs.quote_id, "CLIENT1")
    never_issued = lookup_error(QuoteBook(), theirs.quote_id, "CLIENT1")

    assert error.code is OrderRejectCode.QUOTE_UNKNOWN
    assert error.text == never_issued.text
    assert "CLIENT2" not in error.text


def test_lookup_when_quote_indicative_then_quote_indicative() -> None:
    book = QuoteBook()
    q = quote(indicative=True)
    book.add(q)

    assert lookup_error(book, q.quote_id).code is OrderRejectCode.QUOTE_INDICATIVE
    with pytest.raises(QuoteLookupError):
        book.claim(q.quote_id, "CLIENT1", T0)


def test_lookup_when_now_exactly_valid_until_then_still_executable() -> None:
    book = QuoteBook()
    q = quote()
    book.add(q)

    assert book.lookup(q.quote_id, "CLIENT1", q.valid_until) == q
    assert book.claim(q.quote_id, "CLIENT1", q.valid_until) == q


def test_lookup_when_one_microsecond_after_valid_until_then_quote_expired() -> None:
    book = QuoteBook()
    q = quote()
    book.add(q)

    for attempt in (book.lookup, book.claim):
        with pytest.raises(QuoteLookupError) as caught:
            attempt(q.quote_id, "CLIENT1", q.valid_until + US)
        assert caught.value.code is OrderRejectCode.QUOTE_EXPIRED
        assert caught.value.text.endswith("expired at 2026-01-05T12:00:05.123+00:00")


def test_claim_when_already_claimed_then_quote_already_executed() -> None:
    book = QuoteBook()
    q = quote()
    book.add(q)
    book.claim(q.quote_id, "CLIENT1", T0)

    with pytest.raises(QuoteLookupError) as caught:
        book.claim(q.quote_id, "CLIENT1", T0)

    assert caught.value.code is OrderRejectCode.QUOTE_ALREADY_EXECUTED
    assert lookup_error(book, q.quote_id).code is OrderRejectCode.QUOTE_ALREADY_EXECUTED


def test_claim_when_eight_threads_race_then_exactly_one_wins() -> None:
    book = QuoteBook()
    q = quote()
    book.add(q)
    start = threading.Barrier(8)
    wins: list[str] = []
    losses: list[OrderRejectCode] = []
    record = threading.Lock()

    def race(name: str) -> None:
        start.wait()
        try:
            book.claim(q.quote_id, "CLIENT1", T0)
        except QuoteLookupError as exc:
            with record:
                losses.append(exc.code)
        else:
            with record:
                wins.append(name)

    threads = [threading.Thread(target=race, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)

    assert len(wins) == 1
    assert losses == [OrderRejectCode.QUOTE_ALREADY_EXECUTED] * 7


def test_claim_when_other_counterparty_then_quote_unknown_and_quote_stays_usable() -> None:
    book = QuoteBook()
    q = quote()
    book.add(q)

    with pytest.raises(QuoteLookupError) as caught:
        book.claim(q.quote_id, "CLIENT2", T0)

    assert caught.value.code is OrderRejectCode.QUOTE_UNKNOWN
    assert book.claim(q.quote_id, "CLIENT1", T0) == q


def test_release_when_claimed_then_quote_executable_again() -> None:
    book = QuoteBook()
    q = quote()
    book.add(q)
    book.claim(q.quote_id, "CLIENT1", T0)

    book.release(q.quote_id)

    assert book.claim(q.quote_id, "CLIENT1", T0) == q


def test_release_when_quote_unknown_then_nothing_happens() -> None:
    book = QuoteBook()

    book.release("Q1-404")

    assert len(book) == 0


def test_lookup_when_retention_passed_after_expiry_then_quote_forgotten() -> None:
    book = QuoteBook()
    old, fresh = quote(), quote(valid_until=T0 + RETENTION + timedelta(seconds=5))
    book.add(old)
    book.add(fresh)

    # Right at the retention horizon a late order still hears why: expired.
    with pytest.raises(QuoteLookupError) as caught:
        book.lookup(old.quote_id, "CLIENT1", old.valid_until + RETENTION)
    assert caught.value.code is OrderRejectCode.QUOTE_EXPIRED
    assert len(book) == 2

    with pytest.raises(QuoteLookupError) as caught:
        book.lookup(old.quote_id, "CLIENT1", old.valid_until + RETENTION + US)
    assert caught.value.code is OrderRejectCode.QUOTE_UNKNOWN
    assert len(book) == 1
    assert book.lookup(fresh.quote_id, "CLIENT1", fresh.valid_until) == fresh


def test_add_when_only_quotes_flow_for_an_hour_then_the_book_stays_bounded() -> None:
    book = QuoteBook()
    for second in range(3600):
        at = T0 + timedelta(seconds=second)
        book.add(quote(transact_time=at, valid_until=at + timedelta(seconds=5)))

    # No order ever came to prune it: adding does. What is left is what a late order could
    # still ask about (expired less than RETENTION ago), and the quotes still valid.
    retained = RETENTION.total_seconds() + 5
    assert retained <= len(book) <= retained + 1


def test_retention_when_configured_shorter_then_quotes_forgotten_sooner() -> None:
    book = QuoteBook(retention=timedelta(seconds=30))
    old = quote()
    book.add(old)

    with pytest.raises(QuoteLookupError) as caught:
        book.lookup(old.quote_id, "CLIENT1", old.valid_until + timedelta(seconds=30))
    assert caught.value.code is OrderRejectCode.QUOTE_EXPIRED

    with pytest.raises(QuoteLookupError) as caught:
        book.lookup(old.quote_id, "CLIENT1", old.valid_until + timedelta(seconds=30) + US)
    assert caught.value.code is OrderRejectCode.QUOTE_UNKNOWN


def test_executed_quotes_when_forgotten_after_retention_leave_no_mark_behind() -> None:
    book = QuoteBook(retention=timedelta(seconds=30))
    issued = []
    for second in range(600):
        at = T0 + timedelta(seconds=second)
        issued.append(quote(transact_time=at, valid_until=at + timedelta(seconds=5)))
        book.add(issued[-1])
        book.claim(issued[-1].quote_id, "CLIENT1", at)

    assert len(book) <= 36
    assert len(book._executed) <= 36  # the set that must not grow for ever
    # An id seen again after it was forgotten (ids never repeat in a desk's life) is a new
    # quote: the old execution does not cling to it.
    late = T0 + timedelta(seconds=600)
    book.add(replace(issued[0], transact_time=late, valid_until=late + timedelta(seconds=5)))
    assert book.claim(issued[0].quote_id, "CLIENT1", late).quote_id == issued[0].quote_id


def test_add_when_quote_has_pricing_inputs_then_book_keeps_every_other_field() -> None:
    inputs = PricingInputs(("sim-a",), {}, *[Decimal(n) for n in range(1, 16)], "gold")
    # Fields away from their defaults, so a field the positional copy forgot shows.
    q = quote(side=Side.BUY, bid_px=None, account="ACC-7", pricing=inputs)
    book = QuoteBook()

    book.add(q)

    kept = book.lookup(q.quote_id, "CLIENT1", T0)
    assert kept == replace(q, pricing=None)
    others = [f.name for f in fields(q) if f.name != "pricing"]
    assert all(getattr(kept, name) is getattr(q, name) for name in others)


def test_add_when_thousands_of_quotes_held_then_the_collector_tracks_none_of_them() -> None:
    # A full collection walks every tracked object with the GIL held: quotes the book holds
    # for minutes must not be among them.
    inputs = PricingInputs(("sim-a",), {}, *[Decimal(n) for n in range(1, 16)], "gold")
    book = QuoteBook()
    gc.collect()
    before = len(gc.get_objects())

    last_id = ""
    for n in range(5000):
        side = (Side.BUY, Side.SELL, None)[n % 3]
        issued = quote(side=side, account=f"ACC-{n}", pricing=inputs)
        book.add(issued)
        last_id = issued.quote_id
    del issued
    gc.collect(0)

    assert len(book) == 5000
    assert len(gc.get_objects()) - before < 50
    kept = book.lookup(last_id, "CLIENT1", T0)  # and each quote still comes back whole
    assert (kept.account, kept.side, kept.pricing) == ("ACC-4999", Side.SELL, None)
