"""Risk: limits, credit, rate limits and halts."""
