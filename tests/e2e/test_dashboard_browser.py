"""The imported dashboard renders every chart with data in a real (headless) browser.

Chromium and chromedriver come from Debian (`apt-get install -y chromium
chromium-driver`; CHROMIUM and CHROMEDRIVER override their paths); selenium
from Superset's own venv. The screenshot lands in .local/screenshots/ (the
README's docs/dashboard.png is one of them, committed by hand).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from local_stack import superset_server
from tests.e2e.superset_stack import ROOT, SupersetStack

pytestmark = pytest.mark.e2e

SCREENSHOT = ROOT / ".local" / "screenshots" / "dashboard.png"


def _chart_count() -> int:
    return len(list((ROOT / "superset_assets" / "charts").glob("*.yaml")))


def test_every_chart_renders_data_in_the_browser(superset_stack: SupersetStack) -> None:
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium")
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not (browser and driver):
        pytest.fail("chromium/chromedriver missing: `make browser` (apt-get install -y chromium chromium-driver)")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    expected = _chart_count()
    completed = subprocess.run(
        [
            str(superset_server.VENV_DIR / "bin" / "python"),
            str(Path(__file__).with_name("dashboard_browser.py")),
            "--base-url",
            superset_stack.superset_url,
            "--dashboard-url",
            superset_stack.outputs["dashboard_url"],
            "--username",
            superset_stack.username,
            "--screenshot",
            str(SCREENSHOT),
            "--expected-charts",
            str(expected),
        ],
        env={**os.environ, "SUPERSET_PASSWORD": superset_stack.password, "CHROMIUM": browser, "CHROMEDRIVER": driver},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, f"browser run failed ({completed.returncode}): {completed.stderr[-2000:]}"
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    charts = report["charts"]

    names = {yaml.safe_load(p.read_text())["slice_name"] for p in (ROOT / "superset_assets" / "charts").glob("*.yaml")}
    assert set(charts) == names, f"dashboard shows {sorted(charts)}, the bundle has {sorted(names)}"
    errors = {name: c["detail"] for name, c in charts.items() if c["state"] == "error"}
    assert not errors, f"charts show errors in the browser (screenshot {SCREENSHOT}): {errors}"
    pending = {name: c["detail"] for name, c in charts.items() if c["state"] != "data"}
    assert not pending, f"charts never rendered data (screenshot {SCREENSHOT}): {pending}"
    assert SCREENSHOT.stat().st_size > 50_000, f"screenshot {SCREENSHOT} is suspiciously small"
