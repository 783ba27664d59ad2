-- Daily volume per UTC day, counterparty and instrument: trades, base volume, quote notional.
--
-- Usage (PostgreSQL; psql wants a plain postgresql:// URL, without "+psycopg"):
--
--   psql "postgresql://compliance@db-host/desk" \
--        -v from=2026-01-01 -v to=2026-02-01 [-v counterparty=ACME] \
--        -f sql/compliance/daily_volume.sql
--
--   from, to      the range [from, to) of execution times: dates (midnight UTC) or timestamps
--   counterparty  optional: only this counterparty (its FIX CompID)
--
-- base_volume is the quantity traded in the base asset, both sides added up; quote_notional
-- the sum of qty * price in the quote currency (currency). Exact sums (NUMERIC(38,18)).

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

SELECT trade_date,          -- the UTC day of execution
       counterparty,
       symbol,
       currency,            -- the quote currency, the unit of quote_notional
       count(*)      AS trades,
       sum(qty)      AS base_volume,
       sum(notional) AS quote_notional
FROM trade_amounts
WHERE executed_at >= :'from'::timestamptz
  AND executed_at <  :'to'::timestamptz
  AND (:'counterparty' = '' OR counterparty = :'counterparty')
GROUP BY trade_date, counterparty, symbol, currency
ORDER BY trade_date, counterparty, symbol, currency;
