"""Shared pytest configuration: fixture modules are registered as plugins here."""

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.desk",
]
