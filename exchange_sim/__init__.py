"""Local exchange simulator: venues that speak enough of Binance's spot API for ccxt.

Each simulated venue runs its own aiohttp app on its own loopback port and serves
``/api/v3/{ping,time,exchangeInfo,depth,ticker/bookTicker}`` shaped exactly like Binance,
plus the diff-depth WebSocket stream at ``/ws`` (see :mod:`exchange_sim.depth_stream`), so
ccxt's real ``binance`` and ``ccxt.pro.binance`` classes can load markets, fetch and watch
order books from it. Books move by a seeded random walk (reproducible per venue seed) and
can be steered, frozen, distorted or taken down through the ``/admin/`` HTTP API (see
:mod:`exchange_sim.admin`).

Entry points live in :mod:`exchange_sim.runner`: ``SimulatorThread`` for tests and
embedding, ``serve_forever`` for a foreground CLI. Configuration is in
:mod:`exchange_sim.config`.
"""
