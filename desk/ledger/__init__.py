"""The SQL ledger: orders, trades and the hedge outbox on SQLite (embedded) or PostgreSQL.

Import from the modules, not from this package, so that importing ``desk.ledger.records``
(plain dataclasses) does not drag in SQLAlchemy and Alembic:

* ``desk.ledger.records`` — what crosses the boundary (FillBooking, OrderRecord, ...);
* ``desk.ledger.database`` — ``make_engine(url)``, ``redact_url(url)``;
* ``desk.ledger.migrate`` — ``upgrade(url)``, ``current_revision(url)``, ``head_revision()``;
* ``desk.ledger.repository`` — ``Ledger(engine)``;
* ``desk.ledger.models`` / ``desk.ledger.column_types`` — the schema, for the ledger and tests.
"""
