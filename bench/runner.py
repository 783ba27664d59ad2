"""`make bench` / `make bench-quick`: drive the desk and the bare baseline, report the figures.

    python -m bench.runner [--quick] [--pg-url URL]

Writes bench/results/latest.json and prints a table. Exits non-zero if any request went
unanswered or any answer was wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from bench.commit_floor import pg_floor, sqlite_floor
from bench.cpu_steal import cpu_times, steal_pct
from bench.desk_vitals import python_blocks_figures, vitals_between
from bench.processes import (
    BENCH_QUOTE_RETENTION_S,
    BENCH_VITALS_INTERVAL_S,
    REPO,
    Running,
    run_load,
    start_baseline,
    start_desk,
)
from bench.stats import summary

RESULTS = REPO / "bench" / "results" / "latest.json"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Between two commits of the floor probe: about what a closed loop of orders leaves between
# two trades (the client's RFQ and order round trips).
COMMIT_FLOOR_PAUSE_S = 0.002
# How often the steady run samples the desk's RSS, and how long past its length it may take.
RSS_SAMPLE_S = 30.0
STEADY_GRACE_S = 60.0
# A rate is sustained while every request is answered with p99 under this (BENCH.md).
MAX_RATE_P99_US = 5000


class Failed(Exception):
    """A request went unanswered or was answered wrongly."""


def _check(result: dict[str, Any], what: str) -> dict[str, Any]:
    if result["unanswered"] or result["wrong"]:
        # The open-loop client keeps the first wrong message (a reject, a stray message).
        first = result.get("first_wrong") or []
        example = f", first wrong: {first[0]!r}" if first else ""
        raise Failed(
            f"{what}: {result['unanswered']} unanswered, {result['wrong']} wrong{example}"
        )
    return result


def _closed_loop(port: int, count: int, warmup: int, what: str) -> list[float]:
    return list(
        _check(run_load(port, "rfq-closed", count=count, warmup=warmup), what)["samples_us"]
    )


def rfq_round_trip(desk: int, baseline: int, count: int, rounds: int) -> dict[str, Any]:
    """Closed-loop RFQ → Quote, desk and baseline in alternating short rounds.

    This host's speed moves by up to a factor of two from one minute to the next, and even
    between two adjacent runs of a few seconds, so the rounds are short and many, and which
    side goes first alternates: a fast or slow spell falls on both alike and cancels in the
    pooled ratio. Each round's own p50 ratio is kept to show the spread.
    """
    desk_us: list[float] = []
    base_us: list[float] = []
    round_ratios: list[float] = []
    warmup = max(count // 10, 20)
    for i in range(rounds):
        sides = [("baseline", baseline), ("desk", desk)]
        got: dict[str, list[float]] = {}
        for name, port in sides if i % 2 == 0 else sides[::-1]:
            got[name] = _closed_loop(port, count, warmup, f"{name} rfq")
        desk_us += got["desk"]
        base_us += got["baseline"]
        round_ratios.append(
            round(summary(got["desk"])["p50"] / summary(got["baseline"])["p50"], 2)
        )
    return {
        "desk": summary(desk_us),
        "baseline": summary(base_us),
        "samples": len(desk_us),
        "round_p50_ratios": round_ratios,
    }


StepRun = Callable[[int], dict[str, Any]]
"""One open-loop step at a rate (requests per second): the load client's result."""


def step_sustained(result: dict[str, Any], rate: int) -> dict[str, Any] | None:
    """``{"rate_per_s", "p99_us"}`` if the step was sustained: every request answered, the
    offered rate achieved (95 %) and p99 under 5 ms; else None."""
    p99 = summary(result["samples_us"])["p99"] if result["samples_us"] else None
    if (
        result["unanswered"] == 0
        and p99 is not None
        and p99 < MAX_RATE_P99_US
        and result["achieved_rate_per_s"] >= 0.95 * rate
    ):
        return {"rate_per_s": rate, "p99_us": p99}
    return None


def max_rates(rates: Sequence[int], sides: Mapping[str, StepRun]) -> dict[str, dict[str, Any]]:
    """Each side's highest sustained rate (open loop), the sides stepped up together.

    At each rate every side still sustaining runs one step, the order alternating from step
    to step, so that the host's slow and fast spells fall on all sides alike; a side stops at
    its first step not sustained. A wrong answer fails the benchmark.
    """
    best: dict[str, dict[str, Any]] = {name: {"rate_per_s": 0, "p99_us": None} for name in sides}
    running = list(sides)
    for i, rate in enumerate(rates):
        for name in list(running) if i % 2 == 0 else running[::-1]:
            result = sides[name](rate)
            if result["wrong"]:
                raise Failed(
                    f"{name} at {rate}/s: {result['wrong']} wrong answers, "
                    f"e.g. {result['first_wrong']}"
                )
            step = step_sustained(result, rate)
            if step is None:
                running.remove(name)
            else:
                best[name] = step
        if not running:
            break
    return best


def _open_step(port: int, seconds: float) -> StepRun:
    return lambda rate: run_load(port, "rfq-open", rate=rate, seconds=seconds)


def open_loop(port: int, rate: int, seconds: float, what: str) -> dict[str, float]:
    result = _check(run_load(port, "rfq-open", rate=rate, seconds=seconds), what)
    return summary(result["samples_us"])


def steady_memory(
    desk: Running, port: int, baseline: Running, base_port: int, seconds: float, warmup_s: float
) -> dict[str, Any]:
    """RSS over a steady open-loop run at 100 RFQ/s: before, every ``RSS_SAMPLE_S``, after,
    and the peak; the baseline under the same load at the same time.

    The run starts after ``warmup_s`` at the same rate: by then the quote book holds every
    quote it keeps (``BENCH_QUOTE_RETENTION_S`` after expiry), so growth from there on is a
    leak, not the book filling up. A leak grows as much in the run's second half as in its
    first; memory settling (allocator pages, the engine) grows early and then stops, so the
    second half's growth is reported on its own. The baseline (the same engine, store and
    log under the same load) shows what the engine itself does. The desk's own count of
    Python objects (``python_blocks`` of its ``desk.vitals`` lines) over the same run tells a
    leak of objects from pages the allocator keeps.
    """
    if warmup_s:
        _both(port, base_port, warmup_s, "steady warm-up")
    before, children_before = desk.rss_kib(), desk.children_rss_kib()
    base_before = baseline.rss_kib()
    series: list[int] = []
    started = datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=2) as pool:
        run = pool.submit(_both, port, base_port, seconds, "steady run")
        deadline = time.monotonic() + seconds + STEADY_GRACE_S
        while not run.done() and time.monotonic() < deadline:
            try:
                run.result(timeout=RSS_SAMPLE_S)
            except FutureTimeout:
                series.append(desk.rss_kib() - before)
        run.result(timeout=max(deadline - time.monotonic(), 0.0))
    after, children_after = desk.rss_kib(), desk.children_rss_kib()
    vitals = vitals_between(desk.log_path, started, datetime.now(UTC))
    half = series[(len(series) - 1) // 2] if series else 0
    return {
        "steady_run_s": seconds,
        "steady_warmup_s": warmup_s,
        "quote_retention_s": BENCH_QUOTE_RETENTION_S,
        "desk_rss_before_steady_kib": before,
        "desk_rss_after_steady_kib": after,
        "desk_rss_growth_steady_kib": after - before,
        "desk_rss_growth_steady_second_half_kib": after - before - half,
        f"desk_rss_growth_steady_every_{RSS_SAMPLE_S:.0f}_s_kib": series,
        "desk_rss_peak_kib": desk.rss_kib("VmHWM"),
        # The desk's helper processes (audit writer, hedger), each on its own.
        "desk_children_rss_before_steady_kib": children_before,
        "desk_children_rss_after_steady_kib": children_after,
        "baseline_rss_growth_steady_kib": baseline.rss_kib() - base_before,
        **python_blocks_figures(vitals, BENCH_VITALS_INTERVAL_S),
    }


def _both(port: int, base_port: int, seconds: float, what: str) -> None:
    """The same open-loop load on the desk and on the baseline at once."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(run_load, p, "rfq-open", rate=100, seconds=seconds)
            for p in (port, base_port)
        ]
        _check(runs[0].result(), f"desk {what}")
        _check(runs[1].result(), f"baseline {what}")


def _booked_at_us(desk_log: Path) -> list[int]:
    """Wall-clock µs of each `trade.booked` event (logged just before the fill report goes)."""
    stamps = []
    for line in desk_log.read_text(encoding="utf-8").splitlines():
        if '"trade.booked"' in line:
            ts = json.loads(line)["ts"]
            stamps.append(int(datetime.fromisoformat(ts).timestamp() * 1_000_000))
    return stamps


def _hedge_orders_at_us(config: Path) -> list[int]:
    import tomllib

    venues = tomllib.loads(config.read_text(encoding="utf-8"))["venues"]
    stamps: list[int] = []
    for venue in venues:
        base = venue["api_url"].removesuffix("/api/v3")
        with urllib.request.urlopen(f"{base}/admin/orders", timeout=5) as answer:  # noqa: S310
            orders = json.load(answer)["orders"]
        stamps += [o["receivedAtUs"] for o in orders if o["clientOrderId"].startswith("otc")]
    return sorted(stamps)


def ledger_figures(
    database_url: str, workdir: Path, count: int, fill_count: int, hedge_count: int
) -> dict[str, Any]:
    """Accept → Fill, booked fills per second and hedge initiation on one ledger backend.

    Hedge initiation is measured on fills 100 ms apart (each hedged on its own), after the
    throughput run has filled the ledger. The durable-commit floor is measured first, on the
    same server or disk (``bench.commit_floor``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if database_url.startswith("sqlite"):
        floor = sqlite_floor(workdir / "commit-floor.db", count, COMMIT_FLOOR_PAUSE_S)
    else:
        floor = pg_floor(database_url, count, COMMIT_FLOOR_PAUSE_S)
    desk, sim, port, config = start_desk(workdir, database_url)
    with sim, desk:
        fills = _check(run_load(port, "fill-closed", count=count, warmup=count // 10), "fills")
        throughput = _check(
            run_load(port, "fill-pipelined", count=fill_count, window=20), "fill throughput"
        )
        hedged_run_start = len(_booked_at_us(desk.log_path))
        _check(
            run_load(port, "fill-closed", count=hedge_count, warmup=0, pause_ms=100),
            "hedge fills",
        )
        hedge = hedge_initiation_since(desk, config, hedged_run_start)
        rss, children_rss = desk.rss_kib(), desk.children_rss_kib()
    return {
        "commit_floor": floor,
        "accept_fill": summary(fills["samples_us"]),
        "booked_fills_per_s": throughput["fills_per_s"],
        "hedge_initiation": hedge,
        "desk_rss_kib": rss,
        "desk_children_rss_kib": children_rss,
    }


def hedge_initiation_since(desk: Running, config: Path, skip: int) -> dict[str, Any]:
    """:func:`hedge_initiation` over the fills booked after the first ``skip`` ones."""
    time.sleep(1.0)
    booked = _booked_at_us(desk.log_path)[skip:]
    orders = [o for o in _hedge_orders_at_us(config) if o >= booked[0]] if booked else []
    delays = []
    for i, at in enumerate(booked):
        until = booked[i + 1] if i + 1 < len(booked) else None
        first = next((o for o in orders if o >= at and (until is None or o < until)), None)
        if first is not None:
            delays.append(float(first - at))
    if not delays:
        raise Failed("no hedge order reached the simulator")
    return {**summary(delays), "fills": len(booked), "hedged": len(delays)}


@contextmanager
def pg_database(server_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one run, dropped afterwards."""
    name = f"otc_bench_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip() or "unknown"


def run(quick: bool, pg_url: str | None) -> dict[str, Any]:
    # Closed-loop RFQs: `rounds` alternating rounds of `count` per side. Closed-loop fills
    # (Accept→Fill) and the commit floor's commits: `closed_fills`.
    count, rounds = (150, 2) if quick else (900, 10)
    closed_fills = 100 if quick else 1000
    fill_count = 100 if quick else 1000
    # A p99 needs a few hundred samples; of 40 it is simply the slowest one.
    hedge_count = 40 if quick else 200
    rates = [500, 1000] if quick else [500, 1000, 1500, 2000, 2500, 3000, 3500]
    seconds = 1.0 if quick else 3.0
    steady_seconds = 5.0 if quick else 600.0
    # Quote TTL (5 s) + retention + margin; the quick run is a smoke check, not a memory test.
    warmup_s = 0.0 if quick else BENCH_QUOTE_RETENTION_S + 15.0
    cpu_before = cpu_times()
    with tempfile.TemporaryDirectory(prefix="otc-bench-") as tmp:
        work = Path(tmp)
        baseline, base_port = start_baseline(work / "baseline")
        desk, sim, desk_port, _ = start_desk(work / "desk-sqlite-rfq", f"sqlite:///{work}/rfq.db")
        with baseline, sim, desk:
            rfq = rfq_round_trip(desk_port, base_port, count, rounds)
            desk_open = open_loop(desk_port, 200, seconds, "desk open loop")
            base_open = open_loop(base_port, 200, seconds, "baseline open loop")
            maxima = max_rates(
                rates,
                {
                    "desk": _open_step(desk_port, seconds),
                    "baseline": _open_step(base_port, seconds),
                },
            )
            desk_max, base_max = maxima["desk"], maxima["baseline"]
            steady = steady_memory(
                desk, desk_port, baseline, base_port, steady_seconds, warmup_s
            )
        sqlite = ledger_figures(
            f"sqlite:///{work}/fills.db",
            work / "desk-sqlite",
            closed_fills,
            fill_count,
            hedge_count,
        )
        postgres: dict[str, Any] | None = None
        if pg_url is not None:
            with pg_database(pg_url) as url:
                postgres = ledger_figures(
                    url, work / "desk-pg", closed_fills, fill_count, hedge_count
                )
    result = _report(rfq, desk_open, base_open, desk_max, base_max, sqlite, postgres, steady, quick)
    result["machine"]["cpu_steal_pct"] = steal_pct(cpu_before, cpu_times())
    return result


def _report(
    rfq: dict[str, Any],
    desk_open: dict[str, float],
    base_open: dict[str, float],
    desk_max: dict[str, Any],
    base_max: dict[str, Any],
    sqlite: dict[str, Any],
    postgres: dict[str, Any] | None,
    steady: dict[str, Any],
    quick: bool,
) -> dict[str, Any]:
    desk, base = rfq["desk"], rfq["baseline"]
    result: dict[str, Any] = {
        "quick": quick,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "commit": _git_commit(),
        "at": datetime.now(UTC).isoformat(),
        "rfq_quote_samples": rfq["samples"],
        **{f"rfq_quote_{k}_us": v for k, v in desk.items()},
        **{f"baseline_rfq_quote_{k}_us": v for k, v in base.items()},
        "rfq_quote_p50_ratio": round(desk["p50"] / base["p50"], 2),
        "rfq_quote_p99_ratio": round(desk["p99"] / base["p99"], 2),
        "rfq_quote_round_p50_ratios": rfq["round_p50_ratios"],
        **{f"rfq_quote_open_200_per_s_{k}_us": v for k, v in desk_open.items()},
        **{f"baseline_rfq_quote_open_200_per_s_{k}_us": v for k, v in base_open.items()},
        "rfq_max_rate_per_s": desk_max["rate_per_s"],
        "rfq_max_rate_p99_us": desk_max["p99_us"],
        "baseline_rfq_max_rate_per_s": base_max["rate_per_s"],
        "baseline_rfq_max_rate_p99_us": base_max["p99_us"],
        "rfq_max_rate_ratio": (
            round(desk_max["rate_per_s"] / base_max["rate_per_s"], 2)
            if base_max["rate_per_s"]
            else None
        ),
        **steady,
    }
    for name, figures in (("sqlite", sqlite), ("pg", postgres)):
        if figures is None:
            continue
        result[f"commit_floor_{name}_p50_us"] = figures["commit_floor"]["p50"]
        result[f"commit_floor_{name}_p99_us"] = figures["commit_floor"]["p99"]
        result[f"accept_fill_{name}_p50_us"] = figures["accept_fill"]["p50"]
        result[f"accept_fill_{name}_p99_us"] = figures["accept_fill"]["p99"]
        result[f"booked_fills_{name}_per_s"] = figures["booked_fills_per_s"]
        result[f"hedge_initiation_{name}_p50_us"] = figures["hedge_initiation"]["p50"]
        result[f"hedge_initiation_{name}_p99_us"] = figures["hedge_initiation"]["p99"]
        result[f"hedge_initiation_{name}_samples"] = figures["hedge_initiation"]["hedged"]
        result[f"desk_rss_{name}_kib"] = figures["desk_rss_kib"]
        result[f"desk_children_rss_{name}_kib"] = figures["desk_children_rss_kib"]
    return result


def print_table(result: dict[str, Any]) -> None:
    rows = [(k, v) for k, v in result.items() if k not in ("machine",)]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(f"{'machine':<{width}}  {result['machine']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run, under a minute")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("DESK_BENCH_PG_URL", DEFAULT_PG),
        help="PostgreSQL server for the ledger figures ('' to skip)",
    )
    args = parser.parse_args()
    try:
        result = run(args.quick, args.pg_url or None)
    except Failed as exc:
        print(f"bench: FAILED: {exc}", file=sys.stderr)
        return 1
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print_table(result)
    print(f"\nwritten: {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
