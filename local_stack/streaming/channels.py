"""The channels' committed state inside fakesnow, written in the same transaction as the rows it covers.

One row per channel. Snowflake keeps this server side ("Snowflake bumps the
client sequencer of the channel and returns the last committed offset
token", Open Channel, docs user-guide/snowpipe-streaming/
snowpipe-streaming-high-performance-rest-api); keeping it in the same local
Snowflake as ECOMMERCE_EVENTS is what lets one COMMIT make rows and offset
durable together, so an emulator stopped at any moment neither loses nor
doubles a row its producer resends from the committed offset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

SCHEMA = "LOCAL_SNOWPIPE_STREAMING"
TABLE = "CHANNELS"


@dataclass
class ChannelState:
    """What Channel Status reports, as committed (field names as the documented response)."""

    pipe_name: str  # DATABASE.SCHEMA.PIPE, upper case
    channel_name: str
    client_sequencer: int
    created_on_ms: int
    last_committed_offset_token: str | None = None
    rows_inserted: int = 0
    rows_parsed: int = 0
    rows_error_count: int = 0
    last_error_offset_upper_bound: str | None = None
    last_error_message: str | None = None
    last_error_timestamp_ms: int | None = None
    latency_ms_total: int = 0
    committed_batches: int = 0

    @property
    def avg_processing_latency_ms(self) -> int:
        return self.latency_ms_total // self.committed_batches if self.committed_batches else 0


_COLUMNS = [f.name for f in fields(ChannelState)]
_TYPES = {
    "pipe_name": "VARCHAR NOT NULL",
    "channel_name": "VARCHAR NOT NULL",
    "last_committed_offset_token": "VARCHAR",
    "last_error_offset_upper_bound": "VARCHAR",
    "last_error_message": "VARCHAR",
}


def table(database: str) -> str:
    return f"{database}.{SCHEMA}.{TABLE}"


def ddl(database: str) -> list[str]:
    columns = ",\n    ".join(f"{name} {_TYPES.get(name, 'NUMBER(38, 0)')}" for name in _COLUMNS)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {database}.{SCHEMA}",
        f"CREATE TABLE IF NOT EXISTS {table(database)} (\n    {columns}\n)",
    ]


def load(cursor: Any, database: str) -> list[ChannelState]:
    cursor.execute(f"SELECT {', '.join(_COLUMNS)} FROM {table(database)}")
    # fakesnow returns NUMBER as float in places: counters are whole numbers.
    return [
        ChannelState(**{n: int(v) if isinstance(v, float) else v for n, v in zip(_COLUMNS, row, strict=True)})
        for row in cursor.fetchall()
    ]


def insert(cursor: Any, database: str, state: ChannelState) -> None:
    values = asdict(state)
    cursor.execute(
        f"INSERT INTO {table(database)} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})",
        [values[name] for name in _COLUMNS],
    )


def update(cursor: Any, database: str, state: ChannelState) -> None:
    values = asdict(state)
    changing = [name for name in _COLUMNS if name not in ("pipe_name", "channel_name")]
    cursor.execute(
        f"UPDATE {table(database)} SET {', '.join(f'{name} = %s' for name in changing)} "
        "WHERE pipe_name = %s AND channel_name = %s",
        [*(values[name] for name in changing), state.pipe_name, state.channel_name],
    )


def delete(cursor: Any, database: str, pipe_name: str, channel_name: str) -> None:
    cursor.execute(
        f"DELETE FROM {table(database)} WHERE pipe_name = %s AND channel_name = %s", (pipe_name, channel_name)
    )
