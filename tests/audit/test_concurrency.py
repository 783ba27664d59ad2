"""Concurrent writers on PostgreSQL: the trigger serialises them, the chain stays intact."""

from __future__ import annotations

import itertools
import threading

from desk.audit.chain import first_break
from desk.audit.store import sql_first_break
from desk.ledger.database import make_engine
from tests.audit.chain_rows import append_records, chain, record

WRITERS = 2
TRANSACTIONS = 60


def test_two_threads_inserting_keep_one_unbroken_chain(pg_url: str) -> None:
    engine = make_engine(pg_url)
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait()
            for n in range(TRANSACTIONS):
                # Two rows per transaction, so a transaction's rows must stay adjacent too.
                base = writer * 10_000 + n * 2
                append_records(engine, [record(base), record(base + 1)])
        except BaseException as exc:  # reported below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rows = chain(engine)
        with engine.connect() as connection:
            database_says = sql_first_break(connection)
    finally:
        engine.dispose()

    assert errors == []
    assert [row.seq for row in rows] == list(range(1, WRITERS * TRANSACTIONS * 2 + 1))
    assert first_break(rows) is None
    assert database_says is None
    ids = [row.record.quote_req_id for row in rows]
    for first, second in zip(ids[::2], ids[1::2], strict=True):
        assert int(second.removeprefix("rfq-")) == int(first.removeprefix("rfq-")) + 1
    writers = [int(i.removeprefix("rfq-")) // 10_000 for i in ids[::2]]
    assert sorted(set(writers)) == [0, 1]
    # The writers did overlap (about 100 switches in practice), so the lock was exercised.
    assert sum(a != b for a, b in itertools.pairwise(writers)) >= 2
