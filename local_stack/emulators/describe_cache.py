"""Describe-only answers of the local Snowflake, remembered until the catalogue changes.

Snowpark asks for a DataFrame's columns with a describe-only request each time
it builds on one (snowflake/snowpark/_internal/analyzer/snowflake_plan.py,
`attributes` → the connector's `cursor.describe`); one refresh of the
conversion tables sends about fifty, many of them the same text, and the task
runner sends the same ones every run. fakesnow 0.12.1 answers each by
parsing, translating and running `DESCRIBE <query>` (server.py query_request →
cursor.py `_describe_only`), which made the task runner's refresh the local
Snowflake's largest load next to the pipe's.

A query's columns depend only on the objects it reads, so the answer is kept
per (text, current database, current schema) and every statement that may
change the catalogue (anything but queries, DML, DESCRIBE, SHOW and
transaction control) drops them all. So does a ROLLBACK on a connection that
ran such a statement since its last COMMIT or ROLLBACK, as DuckDB's DDL is
transactional; the connector's ROLLBACK of an unchanged connection (SQLAlchemy
sends one whenever Superset returns a connection to its pool) keeps them.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any

from sqlglot import exp

# Statements that read or write rows, describe or list objects, or open or commit a transaction: none changes what a
# query's columns are. Everything else (CREATE, ALTER, DROP, commands sqlglot leaves unparsed) may; ROLLBACK: seen().
_KEEPS_CATALOGUE = (
    exp.Query,
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Copy,
    exp.Describe,
    exp.Show,
    exp.Transaction,
    exp.Commit,
    exp.Use,
)
MAX_ENTRIES = 1024
_INSTALLED_MARK = "_ecommerce_describe_cache_installed"
_CHANGED_MARK = "_ecommerce_catalogue_changed"  # on a connection: DDL since its last COMMIT or ROLLBACK


class DescribeCache:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._answers: OrderedDict[tuple[str, str | None, str | None], list | None] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries = max_entries
        self.generation = 0  # bumped by every statement that may change the catalogue

    def get(self, key: tuple[str, str | None, str | None]) -> tuple[bool, list | None, int]:
        """(found, answer, generation): pass the generation back to `put`."""
        with self._lock:
            if key not in self._answers:
                return False, None, self.generation
            self._answers.move_to_end(key)
            return True, self._answers[key], self.generation

    def put(self, key: tuple[str, str | None, str | None], answer: list | None, generation: int) -> None:
        """Kept unless the catalogue changed while it was computed (another session's DDL)."""
        with self._lock:
            if generation != self.generation:
                return
            self._answers[key] = answer
            while len(self._answers) > self._max_entries:
                self._answers.popitem(last=False)

    def seen(self, statement: exp.Expression, connection: Any) -> None:
        """Called with every statement fakesnow runs; forgets every answer when it may change the catalogue."""
        if isinstance(statement, exp.Commit):
            setattr(connection, _CHANGED_MARK, False)
        elif isinstance(statement, exp.Rollback):
            if getattr(connection, _CHANGED_MARK, False):
                self.forget()
            setattr(connection, _CHANGED_MARK, False)
        elif not isinstance(statement, _KEEPS_CATALOGUE):
            setattr(connection, _CHANGED_MARK, True)
            self.forget()

    def forget(self) -> None:
        with self._lock:
            self.generation += 1
            self._answers.clear()


def install() -> DescribeCache:
    """Wraps fakesnow's describe-only path in the server process. Call once, before it serves."""
    from fakesnow.cursor import FakeSnowflakeCursor

    if getattr(FakeSnowflakeCursor, _INSTALLED_MARK, None):
        return getattr(FakeSnowflakeCursor, _INSTALLED_MARK)
    cache = DescribeCache()
    original_describe = FakeSnowflakeCursor._describe_only
    original_explode = FakeSnowflakeCursor._transform_explode

    def _describe_only(self: FakeSnowflakeCursor, command: str) -> list | None:
        key = (command, self._conn.database, self._conn.schema)
        found, answer, generation = cache.get(key)
        if found:
            self._sfqid = str(uuid.uuid4())  # the response carries a query id, as _execute would have set
            return answer
        answer = original_describe(self, command)
        cache.put(key, answer, generation)
        return answer

    def _transform_explode(self: FakeSnowflakeCursor, expression: exp.Expression) -> Any:
        # Every statement a client sends passes here once, before a MERGE is split into its parts.
        cache.seen(expression, self._conn)
        return original_explode(self, expression)

    FakeSnowflakeCursor._describe_only = _describe_only
    FakeSnowflakeCursor._transform_explode = _transform_explode
    setattr(FakeSnowflakeCursor, _INSTALLED_MARK, cache)
    return cache
