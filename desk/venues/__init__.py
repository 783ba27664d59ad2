"""Venues: the one ccxt port through which the desk reaches every exchange."""
