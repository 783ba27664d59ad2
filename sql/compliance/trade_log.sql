-- Client trades in a time range: one row per client trade, from the trade_log view.
--
-- Usage (PostgreSQL; psql wants a plain postgresql:// URL, without "+psycopg"):
--
--   psql "postgresql://compliance@db-host/desk" \
--        -v from=2026-01-01 -v to=2026-02-01 [-v counterparty=ACME] \
--        -f sql/compliance/trade_log.sql
--
--   from          first instant included: a date (midnight UTC) or a timestamp, e.g. 2026-01-05T09:30Z
--   to            first instant excluded, so from=2026-01-01 to=2026-02-01 is all of January
--   counterparty  optional: only this counterparty's trades (its FIX CompID)
--
-- All times are read and shown in UTC. Add --csv to get a file for a spreadsheet.
-- Amounts are exact (NUMERIC(38,18)); notional = qty * price in the quote currency.
-- The same query runs as `otc-desk report trade-log --from ... --to ...` (see sql/README.md).

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

SELECT trade_id,
       executed_at,
       counterparty,
       symbol,
       side,          -- the counterparty's side: BUY = the client bought from the desk
       qty,
       price,
       notional,
       quote_id,
       cl_ord_id,
       exec_id
FROM trade_log
WHERE executed_at >= :'from'::timestamptz
  AND executed_at <  :'to'::timestamptz
  AND (:'counterparty' = '' OR counterparty = :'counterparty')
ORDER BY executed_at, trade_id;
