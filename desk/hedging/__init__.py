"""Hedging: netting the outbox's intents per instrument and working them on the venues."""
