"""Compliance reports: the queries of ``sql/compliance/`` run on the desk's ledger database.

``reports`` names them and their columns, ``sql_file`` reads a psql file into one portable
query, ``sqlite_exact`` gives SQLite exact decimal arithmetic for it, ``runner`` runs it and
``output`` writes the rows as a table, CSV or JSON.
"""
