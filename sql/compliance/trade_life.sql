-- The life of one client trade, as one list of events in time order:
-- RFQ -> QUOTE (with its pricing inputs) -> ORDER -> FILL -> HEDGE_INTENT -> HEDGE_BATCH ->
-- HEDGE_ORDER (one per exchange order) -> EXCHANGE_FILL (one per fill on the venue).
--
-- Usage (PostgreSQL; psql wants a plain postgresql:// URL, without "+psycopg"):
--
--   psql "postgresql://compliance@db-host/desk" -v trade_id=42 -f sql/compliance/trade_life.sql
--
--   trade_id      the trade (trades.trade_id, also in the trade_log)
--
-- A hedge batch nets the intents of every trade that was pending for its symbol, so its
-- orders and exchange fills hedge this trade together with the others in the batch.
--
-- Columns: at (UTC), event, reference (the event's own id), party (counterparty or venue),
-- side, qty, price, fee, status, detail:
--   RFQ            reference QuoteReqID
--   QUOTE          reference QuoteID; detail = the pricing inputs (JSON, from the audit trail)
--   ORDER          reference ClOrdID; side/qty/price as ordered; detail = our OrderID
--   FILL           reference ExecID; detail = the settlement date
--   HEDGE_INTENT   reference the intent's id; side/qty = the hedge this trade asked for
--   HEDGE_BATCH    reference the batch id; qty = netted size, price = average fill price;
--                  detail = the execution algorithm
--   HEDGE_ORDER    reference the exchange client order id; detail = the venue's order id
--   EXCHANGE_FILL  reference the fill's booking key; fee in the detail's currency

\set ON_ERROR_STOP on

\if :{?trade_id}
\else
  \echo 'missing -v trade_id=N (see the top of this file)'
  \quit
\endif

\set QUIET on
SET TIME ZONE 'UTC';
\set QUIET off

WITH trade AS (
    SELECT * FROM trades WHERE trade_id = :'trade_id'::integer
),
intent AS (
    SELECT i.* FROM hedge_intents i JOIN trade t ON t.trade_id = i.trade_id
),
batch AS (
    SELECT b.* FROM hedge_batches b JOIN intent i ON i.batch_id = b.id
),
hedge_order AS (
    SELECT o.* FROM hedge_orders o JOIN batch b ON b.id = o.batch_id
),
events AS (
    -- The first branch fixes each column's type for PostgreSQL's UNION (hence the casts).
    SELECT e.recorded_at         AS at,
           1                     AS step,
           'RFQ'                 AS event,
           e.quote_req_id        AS reference,
           e.counterparty        AS party,
           CAST(NULL AS text)    AS side,
           CAST(NULL AS numeric) AS qty,
           CAST(NULL AS numeric) AS price,
           CAST(NULL AS numeric) AS fee,
           CAST(NULL AS text)    AS status,
           CAST(NULL AS text)    AS detail
    FROM rfq_events e
    JOIN trade t ON t.counterparty = e.counterparty AND t.quote_req_id = e.quote_req_id
    WHERE e.event = 'REQUEST'
    UNION ALL
    SELECT e.recorded_at, 2, 'QUOTE', e.quote_id, e.counterparty,
           NULL, NULL, NULL, NULL, NULL, e.pricing
    FROM rfq_events e
    JOIN trade t ON t.counterparty = e.counterparty AND t.quote_id = e.quote_id
    WHERE e.event = 'QUOTE'
    UNION ALL
    SELECT o.created_at, 3, 'ORDER', o.cl_ord_id, o.counterparty,
           o.side, o.qty, o.price, NULL, o.status, o.order_id
    FROM orders o
    JOIN trade t ON t.order_id = o.order_id
    UNION ALL
    SELECT t.executed_at, 4, 'FILL', t.exec_id, t.counterparty,
           t.side, t.qty, t.price, NULL, NULL, 'settl_date ' || t.settl_date
    FROM trade t
    UNION ALL
    SELECT i.created_at, 5, 'HEDGE_INTENT', CAST(i.id AS text), NULL,
           i.side, i.qty, NULL, NULL, i.status, NULL
    FROM intent i
    UNION ALL
    SELECT b.created_at, 6, 'HEDGE_BATCH', CAST(b.id AS text), NULL,
           b.side, b.qty, b.avg_price, b.fees_quote, b.status, b.algo
    FROM batch b
    UNION ALL
    SELECT o.created_at, 7, 'HEDGE_ORDER', o.client_order_id, o.venue,
           o.side, o.qty, NULL, NULL, o.status, o.exchange_order_id
    FROM hedge_order o
    UNION ALL
    SELECT f.executed_at, 8, 'EXCHANGE_FILL', f.fill_key, f.venue,
           f.side, f.qty, f.price, f.fee, NULL, f.fee_currency
    FROM fills f
    JOIN hedge_order o ON o.client_order_id = f.client_order_id
    WHERE f.source = 'EXCHANGE'
)
SELECT at, event, reference, party, side, qty, price, fee, status, detail
FROM events
ORDER BY at, step, reference;
