"""Reading a psql file of ``sql/compliance/`` as one query the desk runs through SQLAlchemy.

A compliance file is written for ``psql``: meta-commands (lines starting with a backslash,
such as ``\\set`` or ``\\if``), comments, session setup (``SET TIME ZONE 'UTC';``) and, last,
the report's query, whose parameters are psql variables (``:'from'``, optionally with a cast:
``:'from'::timestamptz``). The desk keeps only the query and turns each variable into a bind
parameter, so both read the one copy of it:

* PostgreSQL: ``:'from'::timestamptz`` becomes ``CAST(:from AS timestamptz)``;
* SQLite, which has no such types: ``:from`` for a time (UtcDateTime's text compares in time
  order), and ``(:x COLLATE decimal)`` for a numeric, so that comparing it with a decimal
  TEXT column is an exact decimal comparison (see ``sqlite_exact``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

__all__ = ["CASTS", "ComplianceQuery", "SqlFileError", "load_query"]

# The casts a variable may carry, which are also the bind types the desk gives it.
CASTS = frozenset({"timestamptz", "numeric", "integer"})

# One regex for everything outside and inside the SQL that matters to us, tried left to right:
# a comment, a string literal (which may contain anything, even ':' or '--'), a psql
# variable with its optional cast, a statement's end.
_TOKEN = re.compile(
    r"(?P<comment>--[^\n]*)"
    r"|(?P<string>'(?:[^']|'')*')"
    r"|(?P<variable>:'(?P<name>\w+)'(?:::(?P<cast>\w+))?)"
    r"|(?P<end>;)"
)


class SqlFileError(ValueError):
    """A compliance file the desk cannot run (names the file and what is wrong)."""


@dataclass(frozen=True, slots=True)
class ComplianceQuery:
    """The query of one compliance file, with its psql variables still in place."""

    path: Path
    text: str
    variables: dict[str, str | None]  # name -> cast (None: a text variable)

    def render(self, dialect: str) -> str:
        """The query for SQLAlchemy's ``text()`` on ``dialect`` (postgresql or sqlite)."""
        if dialect not in ("postgresql", "sqlite"):
            raise ValueError(f"no compliance queries for {dialect}")

        def bind(match: re.Match[str]) -> str:
            if match["variable"] is None:
                return match[0]
            name, cast = match["name"], self.variables[match["name"]]
            if cast is None:
                return f":{name}"
            if dialect == "postgresql":
                return f"CAST(:{name} AS {cast})"
            return f"(:{name} COLLATE decimal)" if cast == "numeric" else f":{name}"

        return _TOKEN.sub(bind, self.text)


def _without_meta_commands(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith("\\") else line for line in source.splitlines())


def parse_query(path: Path, source: str) -> ComplianceQuery:
    """The last statement of ``source`` (the file at ``path``) and its variables.

    Statements before it may only be ``SET`` (psql session setup): the desk does not run them,
    converting every time to UTC itself.
    """
    text = _without_meta_commands(source)
    statements: list[str] = []
    kept: list[str] = []
    variables: dict[str, str | None] = {}
    position = 0
    for match in _TOKEN.finditer(text):
        kept.append(text[position : match.start()])
        position = match.end()
        if match["comment"] is not None:
            continue
        if match["end"] is not None:
            statements.append("".join(kept).strip())
            kept = []
            continue
        if match["variable"] is not None:
            _note_variable(path, variables, match["name"], match["cast"])
        kept.append(match[0])
    if ("".join(kept) + text[position:]).strip():
        raise SqlFileError(f"{path}: the query must end with ';'")
    statements = [s for s in statements if s]
    if not statements:
        raise SqlFileError(f"{path}: no query")
    *setup, query = statements
    for statement in setup:
        if not statement.upper().startswith("SET "):
            raise SqlFileError(f"{path}: only SET may come before the query, not {statement!r}")
    return ComplianceQuery(path=path, text=query, variables=variables)


def _note_variable(
    path: Path, variables: dict[str, str | None], name: str, cast: str | None
) -> None:
    if cast is not None and cast.lower() not in CASTS:
        raise SqlFileError(f"{path}: :'{name}'::{cast}: the desk binds only {sorted(CASTS)}")
    cast = None if cast is None else cast.lower()
    if variables.setdefault(name, cast) != cast:
        raise SqlFileError(f"{path}: :'{name}' is cast two different ways")


@cache
def load_query(path: Path) -> ComplianceQuery:
    """Read and parse the compliance file at ``path`` (once per process)."""
    return parse_query(path, path.read_text(encoding="utf-8"))
