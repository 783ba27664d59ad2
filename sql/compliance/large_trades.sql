-- Large trades: client trades in a time range whose notional is at least a threshold.
--
-- Usage (PostgreSQL; psql wants a plain postgresql:// URL, without "+psycopg"):
--
--   psql "postgresql://compliance@db-host/desk" \
--        -v from=2026-01-01 -v to=2026-02-01 -v min_notional=1000000 [-v counterparty=ACME] \
--        -f sql/compliance/large_trades.sql
--
--   from, to      the range [from, to) of execution times: dates (midnight UTC) or timestamps
--   min_notional  the threshold, in each trade's quote currency (currency); compared exactly
--   counterparty  optional: only this counterparty (its FIX CompID)

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
\if :{?min_notional}
\else
  \echo 'missing -v min_notional=AMOUNT (see the top of this file)'
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
       currency,
       quote_id,
       cl_ord_id,
       exec_id
FROM trades
WHERE executed_at >= :'from'::timestamptz
  AND executed_at <  :'to'::timestamptz
  AND notional >= :'min_notional'::numeric
  AND (:'counterparty' = '' OR counterparty = :'counterparty')
ORDER BY executed_at, trade_id;
