"""The database's hash chain and desk.audit.chain agree on randomized rows, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from desk.audit.chain import canonical_content, chained_hash, field, first_break, utc_text
from desk.audit.record import KINDS, AuditRecord
from desk.audit.store import append, sql_first_break
from tests.audit.chain_rows import chain

# Any Unicode PostgreSQL text can hold (no NUL, no lone surrogates), plus the characters and
# strings that would confuse a naive encoding: separators, quotes, our own field markers.
_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=24),
    st.sampled_from(["", "|", ":", "N", "S0:", "S1:a", "'", '"', "\\", "''", "\n", "é", "𝄞"]),
)
_ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=45)), timezone(-timedelta(hours=11))]
)
_TIMES = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=_ZONES,
)
_RECORDS = st.builds(
    AuditRecord,
    recorded_at=_TIMES,
    kind=st.sampled_from(KINDS),
    msg_type=_TEXT,
    body=_TEXT,
    counterparty=st.none() | _TEXT,
    quote_req_id=st.none() | _TEXT,
    quote_id=st.none() | _TEXT,
    cl_ord_id=st.none() | _TEXT,
    order_id=st.none() | _TEXT,
    reason=st.none() | _TEXT,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(_RECORDS, min_size=1, max_size=4))
def test_python_hash_equals_database_hash_on_random_rows(
    engine: Engine, records: list[AuditRecord]
) -> None:
    before = chain(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # The session's zone and date style must not leak into the hashed text.
            connection.exec_driver_sql("SET LOCAL TIME ZONE 'America/St_Johns'")
            connection.exec_driver_sql("SET LOCAL DateStyle = 'SQL, DMY'")
        append(connection, records)

    rows = chain(engine)
    new = rows[len(before) :]
    prev_hash = before[-1].hash if before else None
    for expected_seq, (row, record) in enumerate(zip(new, records, strict=True), len(before) + 1):
        assert row.seq == expected_seq
        assert row.prev_hash == prev_hash
        assert row.hash == chained_hash(prev_hash, expected_seq, record)
        assert row.record == record  # read back as written, times included
        prev_hash = row.hash
    assert first_break(rows) is None
    with engine.connect() as connection:
        assert sql_first_break(connection) is None


def test_canonical_content_spells_out_every_field() -> None:
    record = AuditRecord(
        recorded_at=datetime(5, 3, 1, 0, 0, 7, 42, tzinfo=UTC),
        kind="ops",
        msg_type="db.upgrade",
        body="{}",
        counterparty="",
        reason="a|b",
    )

    assert utc_text(record.recorded_at) == "0005-03-01T00:00:07.000042Z"
    assert canonical_content(12, record) == (
        "S2:12S27:0005-03-01T00:00:07.000042ZS3:opsS10:db.upgradeS0:NNNNS3:a|bS2:{}"
    )
    assert field(None) == "N"
    assert field("𝄞é") == "S2:𝄞é"


def test_null_and_empty_reference_give_different_hashes() -> None:
    with_null = AuditRecord(datetime(2026, 1, 5, tzinfo=UTC), "ops", "x", "{}")
    with_empty = AuditRecord(datetime(2026, 1, 5, tzinfo=UTC), "ops", "x", "{}", reason="")

    assert chained_hash(None, 1, with_null) != chained_hash(None, 1, with_empty)
