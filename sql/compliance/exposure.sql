-- Exposure per counterparty as of an instant: what each asset account holds, how much of it
-- is still to settle, and the counterparty's net position per instrument.
--
-- Usage (PostgreSQL; psql wants a plain postgresql:// URL, without "+psycopg"):
--
--   psql "postgresql://compliance@db-host/desk" \
--        -v to=2026-02-01 [-v counterparty=ACME] \
--        -f sql/compliance/exposure.sql
--
--   to            the as-of instant (excluded): what was booked before it counts
--   counterparty  optional: only this counterparty (its FIX CompID)
--
-- Rows, ordered by counterparty, kind, item:
--   kind ASSET       item = an asset; net = the balance of the journal postings on the account
--                    'counterparty:<CompID>' (+: the desk owes the counterparty that much,
--                    -: the counterparty owes the desk); unsettled = the part of it from
--                    settlement obligations not yet due (due at 00:00 UTC of their
--                    settlement date).
--   kind INSTRUMENT  item = a symbol; net = the counterparty's net base quantity bought from
--                    the desk (sells negative); unsettled empty.

\set ON_ERROR_STOP on

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

WITH balances AS (
    SELECT counterparty, asset, sum(amount) AS balance
    FROM counterparty_postings
    WHERE booked_at < :'to'::timestamptz
      AND (:'counterparty' = '' OR counterparty = :'counterparty')
    GROUP BY counterparty, asset
),
unsettled AS (
    SELECT counterparty, asset, sum(amount) AS unsettled
    FROM settlement_schedule
    WHERE created_at < :'to'::timestamptz
      AND settles_at > :'to'::timestamptz
      AND (:'counterparty' = '' OR counterparty = :'counterparty')
    GROUP BY counterparty, asset
),
accounts AS (
    SELECT counterparty, asset FROM balances
    UNION
    SELECT counterparty, asset FROM unsettled
),
positions AS (
    SELECT counterparty, symbol, sum(signed_qty) AS net_qty
    FROM trade_amounts
    WHERE executed_at < :'to'::timestamptz
      AND (:'counterparty' = '' OR counterparty = :'counterparty')
    GROUP BY counterparty, symbol
),
exposure AS (
    SELECT a.counterparty,
           'ASSET'                  AS kind,
           a.asset                  AS item,
           coalesce(b.balance, 0)   AS net,
           coalesce(u.unsettled, 0) AS unsettled
    FROM accounts a
    LEFT JOIN balances b ON b.counterparty = a.counterparty AND b.asset = a.asset
    LEFT JOIN unsettled u ON u.counterparty = a.counterparty AND u.asset = a.asset
    UNION ALL
    SELECT counterparty, 'INSTRUMENT', symbol, net_qty, NULL
    FROM positions
)
SELECT counterparty, kind, item, net, unsettled
FROM exposure
ORDER BY counterparty, kind, item;
