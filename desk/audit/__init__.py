"""The audit trail: an append-only, hash-chained record of FIX messages, trades and ops actions.

* ``body`` — the canonical JSON body of a record;
* ``record`` — ``AuditRecord``, what writers insert (the database adds seq and the chain);
* ``chain`` — the canonical content and the hash chain, computed in Python exactly as the
  database's triggers (migration ``0004_audit``) and ``sql/audit/verify_chain.sql`` do;
* ``store`` — appending records and reading the chain back;
* ``write_behind`` — the batched queue that keeps audit writes off the quote path.
"""
