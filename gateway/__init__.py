"""FIX 4.4 gateway: the QuickFIX acceptor, logon authentication and the FIX <-> domain codec.

Knows FIX; knows nothing about SQL or ccxt. Every business decision is the desk's.
"""
