"""The imported dashboard renders every chart with data in a real (headless) browser.

Chromium and chromedriver come from Debian (`apt-get install -y chromium
chromium-driver`; CHROMIUM and CHROMEDRIVER override their paths); selenium
from Superset's own venv. The screenshot lands in .local/screenshots/ (the
README's docs/dashboard.png is one of them, committed by hand).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from local_stack.emulators import superset_server
from tests.e2e import expected_conversion as expected
from tests.e2e.superset_stack import ROOT, SupersetStack

pytestmark = pytest.mark.e2e

SCREENSHOT = ROOT / ".local" / "screenshots" / "dashboard.png"
FUNNEL = "Conversion Funnel"
TOP_PRODUCTS = "Top Products by Sales Volume"
# The funnel's tooltip as Superset 6.1 draws it: the stage, then the metric's
# name, value and percentage ("Viewed\nsessions\t113\t100.00%").
FUNNEL_TOOLTIP = re.compile(r"^(?P<stage>[^\n]+)\n\S+\s+(?P<sessions>[\d,]+)\s+[\d.]+%$")
# Shares of the canvas ECharts painted, measured: funnel 0.49, conversion
# bars 0.29; the funnel with every value NULL (stage names only) 0.014; the
# Rows Loaded line chart's axes and one point 0.023.
MIN_PAINTED = {FUNNEL: 0.10, "Conversion Rate by Category": 0.10}


def _chart_count() -> int:
    return len(list((ROOT / "superset_assets" / "charts").glob("*.yaml")))


@pytest.fixture(scope="session")  # session: under xdist, other modules' tests may run between these
def browser_report(superset_stack: SupersetStack) -> dict:
    """One headless-Chromium visit of the deployed dashboard (tests/e2e/dashboard_browser.py): its JSON report."""
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium")
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not (browser and driver):
        pytest.fail("chromium/chromedriver missing: `make browser` (apt-get install -y chromium chromium-driver)")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
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
            str(_chart_count()),
            "--hover",
            f"{FUNNEL}=3",
            "--hover",
            f"{TOP_PRODUCTS}=12",  # the top ten bars, one or two points each
            "--colours",
            FUNNEL,
        ],
        env={**os.environ, "SUPERSET_PASSWORD": superset_stack.password, "CHROMIUM": browser, "CHROMEDRIVER": driver},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, f"browser run failed ({completed.returncode}): {completed.stderr[-2000:]}"
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_every_chart_renders_data_in_the_browser(browser_report: dict) -> None:
    report = browser_report
    charts = report["charts"]

    names = {yaml.safe_load(p.read_text())["slice_name"] for p in (ROOT / "superset_assets" / "charts").glob("*.yaml")}
    assert set(charts) == names, f"dashboard shows {sorted(charts)}, the bundle has {sorted(names)}"
    errors = {name: c["detail"] for name, c in charts.items() if c["state"] == "error"}
    assert not errors, f"charts show errors in the browser (screenshot {SCREENSHOT}): {errors}"
    pending = {name: c["detail"] for name, c in charts.items() if c["state"] != "data"}
    assert not pending, f"charts never rendered data (screenshot {SCREENSHOT}): {pending}"
    assert SCREENSHOT.stat().st_size > 50_000, f"screenshot {SCREENSHOT} is suspiciously small"

    # Rendering without an error is not showing data: a metric that is null in
    # every row draws labels and no shapes (the funnel did, before the view
    # counted with COUNT(*)). What the page itself received must have values.
    assert not report.get("unreadable"), f"chart-data answers the report could not read: {report['unreadable']}"
    received = {name: c["received"] for name, c in charts.items()}
    missing = sorted(name for name, got in received.items() if not got or not got["rows"])
    assert not missing, f"charts whose page received no rows: {missing} ({received})"
    null_metrics = {name: got["all_null_metrics"] for name, got in received.items() if got["all_null_metrics"]}
    assert not null_metrics, f"charts whose every value of a metric was null in the browser: {null_metrics}"
    painted = {name: charts[name]["painted"] or 0 for name in MIN_PAINTED}
    thin = {name: share for name, share in painted.items() if share < MIN_PAINTED[name]}
    assert not thin, f"charts that drew (almost) nothing, share of canvas painted: {thin} (screenshot {SCREENSHOT})"


def test_the_funnel_shows_the_loaded_sessions_in_the_browser(
    browser_report: dict, superset_stack: SupersetStack
) -> None:
    """The numbers a user reads on the funnel (its tooltips) are the sessions in the raw events."""
    tooltips = browser_report["charts"][FUNNEL].get("tooltips") or []
    shown = {}
    for text in tooltips:
        match = FUNNEL_TOOLTIP.match(text)
        assert match, f"funnel tooltip {text!r} is not 'stage, metric, value, percent' (all: {tooltips})"
        shown[match["stage"]] = int(match["sessions"].replace(",", ""))
    assert shown == expected.expected_funnel(expected.counted_events(superset_stack))


def test_top_products_read_largest_first_from_the_top(browser_report: dict) -> None:
    """Hovered from the top of the chart down, the bars' units never grow: the best seller is the top bar."""
    tooltips = browser_report["charts"][TOP_PRODUCTS].get("tooltips") or []
    bars: list[tuple[str, int]] = []
    for text in filter(None, tooltips):  # points above or below the bars show no tooltip
        product = text.splitlines()[0].strip()
        units = int(re.findall(r"\d[\d,]*", text)[-1].replace(",", ""))
        if not bars or bars[-1][0] != product:
            bars.append((product, units))
    assert len(bars) >= 5, f"too few bars read from the tooltips: {tooltips}"
    units = [u for _, u in bars]
    assert units == sorted(units, reverse=True), f"bars from the top down must not grow: {bars}"


def _luminance(rgb: list[int]) -> float:
    """WCAG 2 relative luminance (https://www.w3.org/TR/WCAG21/#dfn-relative-luminance)."""
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: list[int], b: list[int]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_funnel_labels_contrast_with_the_stages_they_sit_on(browser_report: dict) -> None:
    """Each stage's fill against the labels' colour (the canvas's darkest): WCAG's 4.5:1 for normal text."""
    colours = browser_report["charts"][FUNNEL]["colours"]
    # The stages are the large areas; the page's white around them is left out.
    fills = [rgb for rgb, share in colours["fills"] if share >= 0.02 and _luminance(rgb) < 0.95]
    assert len(fills) == 3, f"expected the three stages' fills, the canvas's colours are {colours}"
    text = colours["darkest"]
    low = {tuple(rgb): round(_contrast(rgb, text), 2) for rgb in fills if _contrast(rgb, text) < 4.5}
    assert not low, f"labels in {text} on these fills are below 4.5:1 (screenshot {SCREENSHOT}): {low}"
