"""Desk core: pricing, quoting, risk, booking and the ledger. Knows nothing about FIX."""
