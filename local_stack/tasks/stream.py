"""A Snowflake stream on a table, emulated with an offset that commits with the task's results.

fakesnow has no streams. Every ECOMMERCE_EVENTS row comes from one load of the
local Snowpipe, named by (SOURCE_FILE, LOADED_AT): the worker writes a
file's rows with one scan time in one transaction. The emulated stream's
offset is the set of loads it has consumed, kept in
<database>.LOCAL_TASKS.STREAM_OFFSETS; its new rows are the table's rows of
every other load. `advance` writes the offset inside the caller's
transaction, so it commits together with the results or not at all: the
exactly-once promise of a real stream consumed by DML ("Introduction to
Streams": the offset advances when the consuming transaction commits).

Differences from Snowflake, see docs/known-limits.md: the offset moves by
load, not by table version, and a row inserted outside the local Snowpipe
with an already consumed (SOURCE_FILE, LOADED_AT) would not be seen.
"""

from __future__ import annotations

from snowflake.snowpark import DataFrame, Session
from snowflake.snowpark import functions as fn

OFFSETS_SCHEMA = "LOCAL_TASKS"
OFFSETS_TABLE = "STREAM_OFFSETS"
LOAD_KEY = ("SOURCE_FILE", "LOADED_AT")


class EmulatedStream:
    def __init__(self, session: Session, name: str, table: str, database: str):
        self.session = session
        self.name = name
        self.table = table
        self.offsets = f"{database}.{OFFSETS_SCHEMA}.{OFFSETS_TABLE}"

    def ensure_offsets(self) -> None:
        # A schema of its own keeps the runner's bookkeeping out of ANALYTICS,
        # which the dashboards browse; the same database keeps the offset in
        # the results' transaction (DuckDB writes one database per transaction).
        # Looked up first: the local Snowflake forgets every remembered describe
        # after any DDL, IF NOT EXISTS included (emulators/describe_cache.py),
        # and the runner asks before every run.
        database, schema, table = self.offsets.split(".")
        found = self.session.sql(
            f"SELECT COUNT(*) FROM {database}.INFORMATION_SCHEMA.TABLES "
            f"WHERE TABLE_SCHEMA = '{schema}' AND TABLE_NAME = '{table}'"
        ).collect()
        if found[0][0]:
            return
        self.session.sql(f"CREATE SCHEMA IF NOT EXISTS {database}.{schema}").collect()
        self.session.sql(
            f"CREATE TABLE IF NOT EXISTS {self.offsets} ("
            "stream_name VARCHAR NOT NULL, source_file VARCHAR NOT NULL, loaded_at TIMESTAMP_LTZ NOT NULL)"
        ).collect()

    def _consumed(self) -> DataFrame:
        return (
            self.session.table(self.offsets)
            .filter(fn.col("STREAM_NAME") == fn.lit(self.name))
            .select(*[fn.col(c).alias(f"CONSUMED_{c}") for c in LOAD_KEY])
        )

    def new_rows(self) -> DataFrame:
        """The table's rows the stream has not yet delivered (a lazy DataFrame)."""
        rows = self.session.table(self.table)
        consumed = self._consumed()
        condition = (rows["SOURCE_FILE"] == consumed["CONSUMED_SOURCE_FILE"]) & (
            rows["LOADED_AT"] == consumed["CONSUMED_LOADED_AT"]
        )
        return rows.join(consumed, condition, how="leftanti")

    def has_data(self) -> bool:
        """SYSTEM$STREAM_HAS_DATA."""
        return len(self.new_rows().select(*LOAD_KEY).limit(1).collect()) > 0

    def advance(self, delivered: DataFrame) -> None:
        """Mark the loads of `delivered` consumed; call inside the transaction that used them."""
        loads = delivered.select(fn.lit(self.name).alias("STREAM_NAME"), *LOAD_KEY).distinct()
        loads.write.mode("append").save_as_table(self.offsets, column_order="name")
