"""The benchmark's load process: one FIX client, one scenario, results as JSON on stdout.

    python -m bench.load_client --port P --scenario rfq-closed --count 2000 --warmup 200
    python -m bench.load_client --port P --scenario rfq-open --rate 500 --seconds 3
    python -m bench.load_client --port P --scenario fill-closed --count 300 --warmup 30
    python -m bench.load_client --port P --scenario fill-pipelined --count 2000 --window 20

Every answer is checked (a Quote for each QuoteRequest with the same QuoteReqID and bid <
offer; a fill ExecutionReport for each order); ``unanswered`` and ``wrong`` count the failures.
Latencies are client-side wall time from the last byte sent to the answer parsed, in µs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import sys
import time
from decimal import Decimal
from typing import Any

from tests.fixclient import ConnectionClosed, FixClient, FixMessage, utc_timestamp

SYMBOL = "BTC/USDT"
QTY = "0.01"
# QuoteReqIDs and ClOrdIDs are unique per counterparty for the day (ROE): tag each process.
_RUN = secrets.token_hex(4)
_ids = (f"{_RUN}-{n}" for n in itertools.count(1))


def _quote_request(client: FixClient, req_id: str) -> None:
    client.send("R", [(131, req_id), (146, "1"), (55, SYMBOL), (38, QTY)])


def _is_good_quote(msg: FixMessage, req_id: str) -> bool:
    return msg.msg_type == "S" and msg[131] == req_id and Decimal(msg[132]) < Decimal(msg[133])


def rfq_closed(client: FixClient, count: int, warmup: int) -> dict[str, Any]:
    """One outstanding QuoteRequest at a time."""
    samples: list[float] = []
    wrong = unanswered = 0
    for i in range(warmup + count):
        req_id = f"b{next(_ids)}"
        start = time.perf_counter_ns()
        _quote_request(client, req_id)
        try:
            answer = client.recv(5)
        except TimeoutError:
            unanswered += 1
            continue
        elapsed_us = (time.perf_counter_ns() - start) / 1000
        if not _is_good_quote(answer, req_id):
            wrong += 1
        elif i >= warmup:
            samples.append(elapsed_us)
    return {"samples_us": samples, "sent": count, "unanswered": unanswered, "wrong": wrong}


def rfq_open(client: FixClient, rate: float, seconds: float) -> dict[str, Any]:
    """QuoteRequests at a fixed rate regardless of answers (open loop)."""
    interval_ns = int(1e9 / rate)
    total = int(rate * seconds)
    sent_at: dict[str, int] = {}
    samples: list[float] = []
    wrong = 0
    start = time.perf_counter_ns()
    for i in range(total):
        due = start + i * interval_ns
        while (now := time.perf_counter_ns()) < due:
            _drain(client, sent_at, samples, timeout=(due - now) / 1e9)
            wrong += _take_wrong(sent_at)
        req_id = f"o{next(_ids)}"
        sent_at[req_id] = time.perf_counter_ns()
        _quote_request(client, req_id)
    deadline = time.monotonic() + 5
    while _pending(sent_at) and time.monotonic() < deadline:
        _drain(client, sent_at, samples, timeout=0.05)
    achieved = total / ((time.perf_counter_ns() - start) / 1e9)
    return {
        "samples_us": samples,
        "sent": total,
        "unanswered": _pending(sent_at),
        "wrong": wrong + _take_wrong(sent_at),
        "achieved_rate_per_s": round(achieved, 1),
        "first_wrong": _first_wrong[:1],
    }


_WRONG = "__wrong__"
_first_wrong: list[str] = []


def _pending(sent_at: dict[str, int]) -> int:
    return sum(1 for k in sent_at if k != _WRONG)


def _take_wrong(sent_at: dict[str, int]) -> int:
    return sent_at.pop(_WRONG, 0)


def _drain(
    client: FixClient, sent_at: dict[str, int], samples: list[float], timeout: float
) -> None:
    try:
        msg = client.recv(max(timeout, 0.0001))
    except TimeoutError:
        return
    now = time.perf_counter_ns()
    req_id = msg.get(131)
    started = sent_at.pop(req_id, None) if req_id is not None else None
    if started is None or not _is_good_quote(msg, req_id or ""):
        sent_at[_WRONG] = sent_at.get(_WRONG, 0) + 1
        _first_wrong.append(str(msg))
        return
    samples.append((now - started) / 1000)


def fill_closed(client: FixClient, count: int, warmup: int, pause_s: float) -> dict[str, Any]:
    """QuoteRequest, then a NewOrderSingle on the quote: NewOrderSingle → fill report."""
    samples: list[float] = []
    fills_at_us: list[int] = []
    wrong = unanswered = 0
    started = time.perf_counter()
    for i in range(warmup + count):
        req_id = f"f{next(_ids)}"
        _quote_request(client, req_id)
        try:
            quote = client.recv(5)
        except TimeoutError:
            unanswered += 1
            continue
        if not _is_good_quote(quote, req_id):
            wrong += 1
            continue
        side = "1" if i % 2 == 0 else "2"
        cl_ord_id = f"c{req_id}"
        fields = _order_fields(quote, cl_ord_id, side)
        start = time.perf_counter_ns()
        client.send("D", fields)
        try:
            report = client.recv(5)
        except TimeoutError:
            unanswered += 1
            continue
        elapsed_us = (time.perf_counter_ns() - start) / 1000
        if report.msg_type != "8" or report[11] != cl_ord_id or report[39] != "2":
            wrong += 1
        elif i >= warmup:
            samples.append(elapsed_us)
            fills_at_us.append(time.time_ns() // 1000)
        if pause_s:
            time.sleep(pause_s)
    elapsed = time.perf_counter() - started
    return {
        "samples_us": samples,
        "fills_at_us": fills_at_us,
        "sent": count,
        "unanswered": unanswered,
        "wrong": wrong,
        "fills_per_s": round((warmup + count) / elapsed, 1),
    }


def _order_fields(quote: FixMessage, cl_ord_id: str, side: str) -> list[tuple[int, str]]:
    """A NewOrderSingle accepting ``quote`` on ``side`` at its price."""
    return [
        (11, cl_ord_id), (117, quote[117]), (55, SYMBOL), (54, side),
        (60, utc_timestamp()), (38, QTY), (40, "D"),
        (44, quote[133] if side == "1" else quote[132]),
    ]  # fmt: skip


def _collect(client: FixClient, expected: set[str], tag: int) -> tuple[dict[str, FixMessage], int]:
    """Read until every id in ``expected`` (the message's ``tag``) has its answer or 5 s pass;
    (answers by id, stray messages)."""
    answers: dict[str, FixMessage] = {}
    stray = 0
    deadline = time.monotonic() + 5
    while len(answers) < len(expected) and time.monotonic() < deadline:
        try:
            msg = client.recv(max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            break
        key = msg.get(tag)
        if key in expected and key not in answers:
            answers[key] = msg
        else:
            stray += 1
    return answers, stray


def fill_pipelined(client: FixClient, count: int, window: int) -> dict[str, Any]:
    """Booked trades per second: ``window`` QuoteRequests in flight, then an order on each
    quote, ``window`` orders in flight; every fill is checked."""
    wrong = unanswered = filled = 0
    started = time.perf_counter()
    while filled + wrong + unanswered < count:
        batch = min(window, count - filled - wrong - unanswered)
        req_ids = [f"p{next(_ids)}" for _ in range(batch)]
        for req_id in req_ids:
            _quote_request(client, req_id)
        quotes, stray = _collect(client, set(req_ids), 131)
        wrong += stray
        unanswered += batch - len(quotes)
        orders: dict[str, str] = {}
        for n, (req_id, quote) in enumerate(quotes.items()):
            if not _is_good_quote(quote, req_id):
                wrong += 1
                continue
            cl_ord_id = f"c{req_id}"
            orders[cl_ord_id] = "1" if n % 2 == 0 else "2"
            client.send("D", _order_fields(quote, cl_ord_id, orders[cl_ord_id]))
        reports, stray = _collect(client, set(orders), 11)
        wrong += stray
        unanswered += len(orders) - len(reports)
        for report in reports.values():
            if report.msg_type == "8" and report[39] == "2" and report[150] == "F":
                filled += 1
            else:
                wrong += 1
    elapsed = time.perf_counter() - started
    return {
        "samples_us": [],
        "sent": count,
        "filled": filled,
        "unanswered": unanswered,
        "wrong": wrong,
        "fills_per_s": round(filled / elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--comp-id", default="CLIENT1")
    parser.add_argument("--username", default="client1")
    parser.add_argument("--password", default="client1-demo")
    parser.add_argument(
        "--scenario", choices=("rfq-closed", "rfq-open", "fill-closed", "fill-pipelined")
    )
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--pause-ms", type=float, default=0)
    parser.add_argument("--window", type=int, default=20)
    args = parser.parse_args()
    client = FixClient("127.0.0.1", args.port, sender=args.comp_id, target="OTCDESK")
    client.heartbeat = 60
    try:
        client.logon(args.username, args.password)
        if args.scenario == "rfq-closed":
            result = rfq_closed(client, args.count, args.warmup)
        elif args.scenario == "rfq-open":
            result = rfq_open(client, args.rate, args.seconds)
        elif args.scenario == "fill-closed":
            result = fill_closed(client, args.count, args.warmup, args.pause_ms / 1000)
        else:
            result = fill_pipelined(client, args.count, args.window)
        client.logout()
    except (ConnectionClosed, AssertionError, TimeoutError) as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    finally:
        client.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
