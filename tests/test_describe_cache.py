"""The local Snowflake's describe-only answers (local_stack/emulators/describe_cache.py): reused, never stale."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import fakesnow
import pytest
from fakesnow.cursor import FakeSnowflakeCursor
from sqlglot import exp

from local_stack.emulators import describe_cache
from local_stack.services import processes
from local_stack.services.endpoints import connect_local_snowflake


def test_an_answer_computed_across_a_catalogue_change_is_not_kept():
    cache = describe_cache.DescribeCache()
    key = ("SELECT * FROM T", "DB", "S")
    _found, _answer, generation = cache.get(key)
    cache.seen(exp.Alter(), SimpleNamespace())  # another session's ALTER TABLE while this describe ran
    cache.put(key, [("A",)], generation)
    assert cache.get(key)[0] is False


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[str]]]:
    """fakesnow's server in this process, the cache installed over a spy on fakesnow's own describe."""
    described: list[str] = []
    original = FakeSnowflakeCursor._describe_only

    def spy(self: FakeSnowflakeCursor, command: str) -> list | None:
        described.append(command)
        return original(self, command)

    # monkeypatch restores fakesnow's cursor class after the test.
    monkeypatch.setattr(FakeSnowflakeCursor, "_describe_only", spy)
    monkeypatch.setattr(FakeSnowflakeCursor, "_transform_explode", FakeSnowflakeCursor._transform_explode)
    monkeypatch.setattr(FakeSnowflakeCursor, describe_cache._INSTALLED_MARK, None, raising=False)
    describe_cache.install()
    port = processes.free_port()
    with fakesnow.server(port=port, host="127.0.0.1"):
        yield port, described


def _columns(cursor, query: str) -> list[str]:
    return [column.name for column in cursor.describe(query)]


@pytest.mark.emulator
def test_the_same_describe_is_answered_once_until_the_table_changes(server):
    port, described = server
    with connect_local_snowflake(port, user="test") as connection:
        cursor = connection.cursor()
        cursor.execute("CREATE DATABASE D")
        cursor.execute("CREATE SCHEMA D.S")
        cursor.execute("CREATE TABLE D.S.T (A INT)")
        cursor.execute("INSERT INTO D.S.T VALUES (1)")  # DML leaves the columns as they are
        query = "SELECT * FROM D.S.T WHERE A > 0"

        assert _columns(cursor, query) == ["A"]
        assert _columns(cursor, query) == ["A"]
        assert described == [query], "the second describe must come from the cache"

        cursor.execute("ALTER TABLE D.S.T ADD COLUMN B VARCHAR")
        assert _columns(cursor, query) == ["A", "B"], "an ALTER must drop the remembered answer"
        assert described == [query, query]

        cursor.execute("BEGIN")
        cursor.execute("CREATE OR REPLACE TABLE D.S.T (C INT)")
        assert _columns(cursor, query.replace("A > 0", "C > 0")) == ["C"]
        assert _columns(cursor, "SELECT * FROM D.S.T") == ["C"]
        cursor.execute("ROLLBACK")  # DuckDB's DDL is transactional: the table is back to A, B
        assert _columns(cursor, query) == ["A", "B"]
        assert _columns(cursor, "SELECT * FROM D.S.T") == ["A", "B"], "a ROLLBACK must drop what the transaction saw"

        # What SQLAlchemy sends when Superset returns a connection to its pool: nothing to undo, nothing forgotten.
        asked = len(described)
        with connect_local_snowflake(port, user="test") as pooled:
            pooled.cursor().execute("ROLLBACK")
        cursor.execute("ROLLBACK")
        assert _columns(cursor, query) == ["A", "B"]
        assert len(described) == asked, "a ROLLBACK of a connection that changed nothing must keep the answers"
