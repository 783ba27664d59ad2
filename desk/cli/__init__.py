"""The ``otc-desk`` command for desk ops."""
