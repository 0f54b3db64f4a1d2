"""The local resource monitor on a real local stack: a tiny quota suspends the warehouse, queries get Snowflake's
message, `make smoke` names the cause and the fix, `make local-status` reports it.

The quota is made tiny in the deploy's record of the monitor (0.01 credits, 36 s of XSMALL): the config's floor
is 1 credit, an hour of XSMALL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import snowflake.connector.errors

from local_stack import stack
from local_stack.emulators.credit_meter import read_state
from local_stack.services import endpoints as local_endpoints
from local_stack.services import state as local_state
from local_stack.services.processes import wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
TINY_QUOTA = 0.01


@pytest.fixture
def tiny_quota_stack(tmp_path: Path) -> Iterator[Path]:
    stack.up(stack.LocalStackSettings(state_dir=tmp_path, superset=False), progress=lambda _m: None)
    records = tmp_path / "snowflake_objects.json"
    recorded = json.loads(records.read_text())
    for record in recorded:
        if record["type"] == "snowflake:index/resourceMonitor:ResourceMonitor":
            record["inputs"]["creditQuota"] = TINY_QUOTA
    records.write_text(json.dumps(recorded))
    yield tmp_path
    stack.down(tmp_path)


def test_the_warehouse_suspends_at_the_quota_and_smoke_names_it(tiny_quota_stack: Path) -> None:
    endpoints = local_state.read_endpoints(tiny_quota_stack)
    # Superset's login: the stack's dashboard user; the first query resumes the warehouse: 60 s >= 36 s.
    with local_endpoints.connect_snowflake(endpoints, user="ECOMMERCE_POC_DASHBOARD") as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT COUNT(*) FROM enriched_events")
        wait_for(lambda: read_state(tiny_quota_stack).suspended, 10, "the meter's state file to say suspended")
        with pytest.raises(snowflake.connector.errors.ProgrammingError) as refused:
            cursor.execute("SELECT COUNT(*) FROM products")
    assert refused.value.errno == 90073
    assert "Warehouse 'ECOMMERCE_POC_WH' cannot be resumed because resource monitor 'ECOMMERCE_POC_WH_MONITOR' " \
        "has exceeded its quota." in str(refused.value)  # fmt: skip

    env = {**os.environ, "COLUMNS": "160"}
    env.pop("STACK", None)
    smoke = subprocess.run(
        [sys.executable, "-m", "smoke", "--state-dir", str(tiny_quota_stack), "--timeout", "5"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = " ".join(smoke.stdout.split())
    assert smoke.returncode == 1, out + smoke.stderr
    assert "smoke failed at 'canary visible'" in out
    assert "the warehouse is suspended by its resource monitor" in out
    assert "make local-down && make local-up" in out

    status = subprocess.run(
        [sys.executable, "-m", "local_stack.cli", "status", "--state-dir", str(tiny_quota_stack)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    credits = json.loads(status.stdout)["estimated_credits"]
    assert credits["suspended_by_resource_monitor"] is True
    assert credits["quota"] == TINY_QUOTA
    assert "not a bill" in credits["label"]
