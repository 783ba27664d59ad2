-- Verify the audit trail's hash chain: the FIRST broken row of audit_log, or no row at all.
--
--   psql "postgresql://user@db-host/desk" -f sql/audit/verify_chain.sql
--   otc-desk audit verify        (the same file, on PostgreSQL or the embedded SQLite ledger)
--
-- Recomputes every row's hash from its content and checks that each row's prev_hash is the
-- hash of the row before it and that no seq is missing. The content is defined in migration
-- 0004_audit and desk/audit/chain.py (keep all three identical; tests hold them together):
--
--   field(x)  = 'N' when x is NULL, else 'S' || length(x) || ':' || x   (length in characters)
--   hash      = hex SHA-256 of the UTF-8 of
--               field(prev_hash) || field(seq) || field(recorded_at as UTC text
--               'YYYY-MM-DDTHH:MM:SS.ffffffZ') || field(kind) || field(msg_type)
--               || field(counterparty) || field(quote_req_id) || field(quote_id)
--               || field(cl_ord_id) || field(order_id) || field(reason) || field(body)
--
-- desk_sha256(text) and desk_audit_time(recorded_at) are created by the migration on
-- PostgreSQL (over the built-in sha256() and to_char(... AT TIME ZONE 'UTC')) and registered
-- by the desk on every SQLite connection. The query is plain SQL that both databases run.
-- Result columns: seq (the first broken row) and problem (what is wrong with it).
WITH chain AS (
    SELECT
        seq,
        prev_hash,
        hash,
        LAG(seq) OVER (ORDER BY seq) AS before_seq,
        LAG(hash) OVER (ORDER BY seq) AS before_hash,
        desk_sha256(
            CASE WHEN prev_hash IS NULL THEN 'N'
                 ELSE 'S' || CAST(length(prev_hash) AS TEXT) || ':' || prev_hash END
            || 'S' || CAST(length(CAST(seq AS TEXT)) AS TEXT) || ':' || CAST(seq AS TEXT)
            || 'S' || CAST(length(desk_audit_time(recorded_at)) AS TEXT) || ':'
                   || desk_audit_time(recorded_at)
            || 'S' || CAST(length(kind) AS TEXT) || ':' || kind
            || 'S' || CAST(length(msg_type) AS TEXT) || ':' || msg_type
            || CASE WHEN counterparty IS NULL THEN 'N'
                    ELSE 'S' || CAST(length(counterparty) AS TEXT) || ':' || counterparty END
            || CASE WHEN quote_req_id IS NULL THEN 'N'
                    ELSE 'S' || CAST(length(quote_req_id) AS TEXT) || ':' || quote_req_id END
            || CASE WHEN quote_id IS NULL THEN 'N'
                    ELSE 'S' || CAST(length(quote_id) AS TEXT) || ':' || quote_id END
            || CASE WHEN cl_ord_id IS NULL THEN 'N'
                    ELSE 'S' || CAST(length(cl_ord_id) AS TEXT) || ':' || cl_ord_id END
            || CASE WHEN order_id IS NULL THEN 'N'
                    ELSE 'S' || CAST(length(order_id) AS TEXT) || ':' || order_id END
            || CASE WHEN reason IS NULL THEN 'N'
                    ELSE 'S' || CAST(length(reason) AS TEXT) || ':' || reason END
            || 'S' || CAST(length(body) AS TEXT) || ':' || body
        ) AS computed_hash
    FROM audit_log
),
checked AS (
    SELECT
        seq,
        CASE
            WHEN seq <> COALESCE(before_seq, 0) + 1
                THEN 'rows missing before it: seq ' || CAST(COALESCE(before_seq, 0) + 1 AS TEXT)
                     || ' to ' || CAST(seq - 1 AS TEXT)
            WHEN before_seq IS NULL AND prev_hash IS NOT NULL
                THEN 'prev_hash is set on the first row'
            WHEN before_seq IS NOT NULL AND COALESCE(prev_hash, '') <> COALESCE(before_hash, '')
                THEN 'prev_hash does not match the hash of seq ' || CAST(before_seq AS TEXT)
            WHEN COALESCE(hash, '') <> computed_hash
                THEN 'hash does not match the row''s content'
        END AS problem
    FROM chain
)
SELECT seq, problem
FROM checked
WHERE problem IS NOT NULL
ORDER BY seq
LIMIT 1;
