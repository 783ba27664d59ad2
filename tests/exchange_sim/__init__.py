"""Tests of the local Binance-like exchange simulator (exchange_sim)."""
