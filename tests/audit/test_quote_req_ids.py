"""The QuoteReqIDs a restarted desk reads back from the audit trail (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from desk.audit.record import AuditRecord
from desk.audit.store import quote_req_ids_answered_since
from tests.audit.chain_rows import T0, append_records


def _answer(
    minutes: int, counterparty: str, quote_req_id: str, msg_type: str, reason: str | None = None
) -> AuditRecord:
    return AuditRecord(
        recorded_at=T0 + timedelta(minutes=minutes),
        kind="fix.out",
        msg_type=msg_type,
        body=f'{{"fields":{{"131":"{quote_req_id}"}}}}',
        counterparty=counterparty,
        quote_req_id=quote_req_id,
        reason=reason,
    )


def test_every_answered_quote_req_id_since_counts_but_a_rate_limited_one(engine: Engine) -> None:
    append_records(
        engine,
        [
            _answer(-1, "CLIENT1", "yesterday", "S"),  # before ``since``
            _answer(1, "CLIENT1", "quoted", "S"),
            _answer(2, "CLIENT1", "refused", "AG", "NO_MARKET"),
            _answer(3, "CLIENT1", "throttled", "AG", "RATE_LIMITED"),
            _answer(4, "CLIENT1", "throttled-then-quoted", "AG", "RATE_LIMITED"),
            _answer(5, "CLIENT1", "throttled-then-quoted", "S"),
            _answer(6, "CLIENT2", "quoted", "S"),
            AuditRecord(  # the request itself is not an answer
                recorded_at=T0 + timedelta(minutes=7),
                kind="fix.in",
                msg_type="R",
                body='{"fields":{"131":"asked"}}',
                counterparty="CLIENT1",
                quote_req_id="asked",
            ),
        ],
    )

    with engine.connect() as conn:
        used = quote_req_ids_answered_since(conn, T0)

    assert used == {
        "CLIENT1": {"quoted", "refused", "throttled-then-quoted"},
        "CLIENT2": {"quoted"},
    }
