-- RFQ outcomes per counterparty in a time range: requests, quotes, rejects by reason, orders,
-- fills and the hit ratio.
--
-- Usage (PostgreSQL; psql wants a plain postgresql:// URL, without "+psycopg"):
--
--   psql "postgresql://compliance@db-host/desk" \
--        -v from=2026-01-01 -v to=2026-02-01 [-v counterparty=ACME] \
--        -f sql/compliance/rfq_outcomes.sql
--
--   from, to      the range [from, to): dates (midnight UTC) or timestamps
--   counterparty  optional: only this counterparty (its FIX CompID)
--
-- Requests, quotes and rejects come from the audit trail (rfq_events: QuoteRequest in, Quote
-- and QuoteRequestReject out, by the time they were recorded); orders and fills from the
-- orders table (by the time the order was answered).
--
-- Rows: one summary row per counterparty (reject_reason empty) with every count, followed by
-- one row per reject reason carrying only that reason's number of rejects.
--   hit_ratio = filled_orders / quotes, rounded to 4 places (compliance_ratio, made by
--   migration 0005_compliance); empty when no quote was sent.

\set ON_ERROR_STOP on

\if :{?from}
\else
  \echo 'missing -v from=YYYY-MM-DD (see the top of this file)'
  \quit
\endif
\if :{?to}
\else
  \echo 'missing -v to=YYYY-MM-DD (see the top of this file)'
  \quit
\endif
\if :{?counterparty}
\else
  \set counterparty ''
\endif

\set QUIET on
SET TIME ZONE 'UTC';
\set QUIET off

WITH rfq AS (
    SELECT counterparty, event, reason
    FROM rfq_events
    WHERE recorded_at >= :'from'::timestamptz
      AND recorded_at <  :'to'::timestamptz
      AND (:'counterparty' = '' OR counterparty = :'counterparty')
),
placed AS (
    SELECT counterparty, status
    FROM orders
    WHERE created_at >= :'from'::timestamptz
      AND created_at <  :'to'::timestamptz
      AND (:'counterparty' = '' OR counterparty = :'counterparty')
),
rfq_counts AS (
    SELECT counterparty,
           count(*) FILTER (WHERE event = 'REQUEST') AS requests,
           count(*) FILTER (WHERE event = 'QUOTE')   AS quotes,
           count(*) FILTER (WHERE event = 'REJECT')  AS rejects
    FROM rfq
    GROUP BY counterparty
),
order_counts AS (
    SELECT counterparty,
           count(*)                                    AS orders,
           count(*) FILTER (WHERE status = 'FILLED')   AS filled_orders,
           count(*) FILTER (WHERE status = 'REJECTED') AS rejected_orders
    FROM placed
    GROUP BY counterparty
),
counterparties AS (
    SELECT counterparty FROM rfq_counts
    UNION
    SELECT counterparty FROM order_counts
),
outcomes AS (
    SELECT c.counterparty,
           CAST(NULL AS text)                  AS reject_reason,
           coalesce(r.requests, 0)             AS requests,
           coalesce(r.quotes, 0)               AS quotes,
           coalesce(r.rejects, 0)              AS rejects,
           coalesce(o.orders, 0)               AS orders,
           coalesce(o.filled_orders, 0)        AS filled_orders,
           coalesce(o.rejected_orders, 0)      AS rejected_orders,
           compliance_ratio(coalesce(o.filled_orders, 0), coalesce(r.quotes, 0)) AS hit_ratio
    FROM counterparties c
    LEFT JOIN rfq_counts r ON r.counterparty = c.counterparty
    LEFT JOIN order_counts o ON o.counterparty = c.counterparty
    UNION ALL
    SELECT counterparty,
           coalesce(reason, 'UNSPECIFIED'),
           NULL, NULL,
           count(*),
           NULL, NULL, NULL, NULL
    FROM rfq
    WHERE event = 'REJECT'
    GROUP BY counterparty, coalesce(reason, 'UNSPECIFIED')
)
SELECT counterparty,
       reject_reason,
       requests,
       quotes,
       rejects,
       orders,
       filled_orders,
       rejected_orders,
       hit_ratio
FROM outcomes
ORDER BY counterparty, reject_reason IS NOT NULL, reject_reason;
