"""End to end: rows streamed over the Snowpipe Streaming API -> ENRICHED_EVENTS -> the funnel -> Superset's charts.

The stack of tests/e2e/superset_stack.py (Pulumi.local.yaml: ingestion both),
with its emulator; the producer is the real CLI.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from local_stack.harness import ROOT
from local_stack.shopping import generate_events
from tests.e2e.superset_stack import SupersetStack
from tests.e2e.test_transformations import _chart_rows, _converges

pytestmark = pytest.mark.e2e


def test_streamed_rows_reach_the_funnel_and_the_lag_chart(superset_stack: SupersetStack) -> None:
    count, seed = 1500, 1906
    command = [sys.executable, "-m", "local_stack.producer", "--mode", "streaming",
               "--state-dir", str(superset_stack.state_dir), "--rate", "3000", "--count", str(count),
               "--seed", str(seed), "--channel", "dashboard-e2e"]  # fmt: skip
    produced = subprocess.run(
        command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=180
    )
    assert produced.returncode == 0, produced.stdout + produced.stderr
    events = generate_events(count, seed=seed)
    sessions = {e["session_id"] for e in events}
    ids = {e["event_id"] for e in events}
    with superset_stack.connect() as connection:
        rows = (
            connection.cursor()
            .execute("SELECT event_id FROM ENRICHED_EVENTS WHERE source_file = 'snowpipe-streaming'")
            .fetchall()
        )
    streamed = [event_id for (event_id,) in rows if event_id in ids]
    assert len(streamed) == count and set(streamed) == ids, "every streamed event exactly once in ENRICHED_EVENTS"

    # The conversion charts equal what the raw rows say, streamed sessions included.
    _converges(superset_stack)
    with superset_stack.connect() as connection:
        funnel_sessions = {row[0] for row in connection.cursor().execute("SELECT SESSION_ID FROM SESSION_FUNNEL")}
    assert sessions <= funnel_sessions, f"{len(sessions - funnel_sessions)} streamed sessions missing from the funnel"

    lag = {row["INGEST_PATH"]: row for row in _chart_rows(superset_stack, "Ingest Lag by Path (seconds)")}
    assert "streaming" in lag, f"the lag chart has no streaming bar: {lag}"
    assert 0 <= float(lag["streaming"]["median_lag_seconds"]) < 10, f"streaming lag: {lag['streaming']}"
