"""Market data: venue depth streams (REST polling as fallback) into an in-memory snapshot."""
