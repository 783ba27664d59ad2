"""Quoting: answering RFQs and the book of live quotes (TTL, single use, owner)."""
