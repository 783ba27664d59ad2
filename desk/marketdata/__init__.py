"""Market data: venue order books polled through ccxt into an in-memory snapshot."""
