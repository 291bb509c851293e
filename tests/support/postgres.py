"""A fresh PostgreSQL schema per test or benchmark run, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote


@contextmanager
def fresh_schema(base: str, prefix: str = "cf_test") -> Iterator[str]:
    """Yield ``base`` pointed at a new, empty schema; drop it on exit.

    Parameters
    ----------
    base : str
        A PostgreSQL URL (``postgresql://`` or ``postgresql+psycopg://``).
    prefix : str
        Start of the schema's name, so leftovers say who made them.
    """
    import psycopg

    schema = f"{prefix}_{secrets.token_hex(6)}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
