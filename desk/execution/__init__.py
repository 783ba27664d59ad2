"""Execution: accepting orders on quotes, booking them, and reporting order state."""
