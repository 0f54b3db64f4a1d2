"""Each streaming channel's committed state, for `make local-status`: offsets, rows, errors, latency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local_stack.services import endpoints as local_endpoints
from local_stack.services.state import read_endpoints, read_streaming
from local_stack.streaming import channels


def status(state_dir: Path) -> dict[str, Any]:
    """The streaming pipe and every channel as the emulator committed it (what Bulk Get Channel Status reports)."""
    endpoint = read_streaming(state_dir)
    database = endpoint.pipe.split(".")[0]
    connection = local_endpoints.connect_snowflake(read_endpoints(state_dir))
    try:
        states = [s for s in channels.load(connection.cursor(), database) if s.pipe_name == endpoint.pipe.upper()]
    finally:
        connection.close()
    return {
        "pipe": endpoint.pipe,
        "api": endpoint.url,
        "rows_inserted": sum(s.rows_inserted for s in states),
        "rows_error_count": sum(s.rows_error_count for s in states),
        "channels": [
            {
                "channel_name": s.channel_name,
                "last_committed_offset_token": s.last_committed_offset_token,
                "rows_inserted": s.rows_inserted,
                "rows_parsed": s.rows_parsed,
                "rows_error_count": s.rows_error_count,
                "last_error_offset_upper_bound": s.last_error_offset_upper_bound,
                "last_error_message": s.last_error_message,
                "snowflake_avg_processing_latency_ms": s.avg_processing_latency_ms,
            }
            for s in states
        ],
    }
