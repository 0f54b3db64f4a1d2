"""Open a Superset dashboard in headless Chromium and report each chart's state as JSON.

Runs under Superset's venv (it ships selenium), so the project venv needs no
browser driver:

    SUPERSET_PASSWORD=... .local/superset-venv/bin/python tests/e2e/dashboard_browser.py \
        --base-url URL --dashboard-url URL --username admin --screenshot docs/dashboard.png

Prints {"charts": {name: {"state", "detail", "viz_type", "painted", "received"}}}:

- state: "data" when the chart shows an ECharts canvas, table rows or a big
  number and no loading spinner; "error" when Superset shows an error alert.
- painted: for canvas charts, the largest share of a canvas's pixels that are
  not transparent (what ECharts drew: axes and labels alone stay near 0.01).
- received: what the browser itself got from /api/v1/chart/data for the chart
  (read from Chromium's network log): rows, and the metrics whose every value
  was null. A chart can render without error and still show nothing when its
  metric is null; this is how the test sees it.
- tooltips (charts named by --hover NAME=N): the tooltip text at N points,
  evenly spaced down the middle of the chart's canvas: the numbers a user
  reads, as the chart drew them.
- colours (charts named by --colours NAME): the canvas's most used opaque
  colours with their share of its pixels, and its darkest colour (the text).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1600,2600",
)
CHART = '[data-test="chart-grid-component"]'
RENDERED = "canvas, table tbody tr, .header-line"
LOADING = '[aria-label="Loading"], .loading'
ERROR = '[role="alert"], .ant-alert-error'
PAINTED_JS = """
const shares = Array.from(arguments[0].querySelectorAll('canvas')).map(canvas => {
  if (!canvas.width || !canvas.height) return 0;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let alpha = 3; alpha < pixels.length; alpha += 4) if (pixels[alpha] > 0) painted += 1;
  return painted / (canvas.width * canvas.height);
});
return shares.length ? Math.max(...shares) : null;
"""
# The colours a chart's canvas is painted with, by pixel count (opaque pixels
# only), and the darkest colour drawn on at least 20 pixels: a chart's text.
COLOURS_JS = """
const canvas = arguments[0].querySelector('canvas');
const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
const counts = {};
for (let i = 0; i < pixels.length; i += 4) {
  if (pixels[i + 3] < 255) continue;
  const key = pixels[i] + ',' + pixels[i + 1] + ',' + pixels[i + 2];
  counts[key] = (counts[key] || 0) + 1;
}
const total = canvas.width * canvas.height;
const colours = Object.entries(counts).map(([key, n]) => [key.split(',').map(Number), n / total]);
colours.sort((a, b) => b[1] - a[1]);
const sum = rgb => rgb[0] + rgb[1] + rgb[2];
const darkest = Object.entries(counts).filter(([, n]) => n >= 20).map(([key]) => key.split(',').map(Number))
  .sort((a, b) => sum(a) - sum(b))[0];
return {fills: colours.slice(0, 8), darkest: darkest || null};
"""
# ECharts draws its tooltip as an HTML div (echarts src/component/tooltip/
# TooltipHTMLContent.ts, styled with z-index 9999999); the visible one is the
# chart's current tooltip.
TOOLTIP_JS = """
const tips = Array.from(document.querySelectorAll('div')).filter(div =>
  div.style.zIndex === '9999999' && div.style.display !== 'none' && div.style.visibility !== 'hidden'
  && div.innerText.trim());
return tips.map(div => div.innerText.trim());
"""


def _state(chart: WebElement) -> tuple[str, str]:
    errors = chart.find_elements(By.CSS_SELECTOR, ERROR)
    text = chart.text
    if errors or "error" in text.lower():
        detail = " | ".join(e.text for e in errors) or text
        return "error", detail[:500]
    if chart.find_elements(By.CSS_SELECTOR, LOADING):
        return "pending", "still loading"
    if chart.find_elements(By.CSS_SELECTOR, RENDERED):
        return "data", ""
    return "pending", "nothing rendered yet"


def _metric_label(metric: str | dict) -> str:
    # A saved metric is named by its string; an ad hoc one carries its label.
    return metric if isinstance(metric, str) else metric.get("label") or metric.get("metric_name", "")


def _received(driver: webdriver.Chrome) -> dict[str, dict]:
    """Per chart id, the last chart-data answer the page received: row count and all-null metrics."""
    answers: dict[str, dict] = {}
    messages = [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]
    # The live dashboard refreshes itself; a refresh still in flight has no
    # body yet, so only finished requests are read (the last one per chart wins).
    finished = {m["params"]["requestId"] for m in messages if m["method"] == "Network.loadingFinished"}
    for message in messages:
        if message["method"] != "Network.requestWillBeSent" or message["params"]["requestId"] not in finished:
            continue
        request = message["params"]["request"]
        if "/api/v1/chart/data" not in request["url"] or request.get("method") != "POST":
            continue
        try:
            body = json.loads(request.get("postData") or "{}")
            chart_id = str(body["form_data"]["slice_id"])
            answer = driver.execute_cdp_cmd("Network.getResponseBody", {"requestId": message["params"]["requestId"]})
            results = json.loads(answer["body"])["result"]
        except Exception as err:  # the report names what could not be read; the test decides
            answers.setdefault("unreadable", {"detail": []})["detail"].append(f"{request['url']}: {err!r}")
            continue
        rows, all_null = 0, []
        for query, result in zip(body["queries"], results, strict=False):
            data = result.get("data") or []
            rows += len(data)
            for label in map(_metric_label, query.get("metrics") or []):
                if data and all(row.get(label) is None for row in data):
                    all_null.append(label)
        answers[chart_id] = {"rows": rows, "all_null_metrics": all_null}
    return answers


def _tooltips(driver: webdriver.Chrome, chart: WebElement, points: int) -> list[str]:
    canvas = chart.find_element(By.CSS_SELECTOR, "canvas")
    height = canvas.size["height"]
    texts = []
    for point in range(points):
        below_centre = int(height * ((point + 0.5) / points - 0.5))  # selenium offsets are from the centre

        def hovered(driver: webdriver.Chrome, below_centre: int = below_centre) -> list[str]:
            # A second, 1-pixel move: ECharts shows its tooltip on mousemove,
            # and the first move after a page settles can go unseen.
            for nudge in (0, 1):
                ActionChains(driver).move_to_element_with_offset(canvas, nudge, below_centre).perform()
            return driver.execute_script(TOOLTIP_JS)

        try:
            # 1.5 s: a point on a bar shows its tooltip within one or two moves; one beside the bars never does.
            shown = WebDriverWait(driver, 1.5, poll_frequency=0.3).until(hovered)
        except TimeoutException:
            shown = []
        texts.append(" | ".join(shown))
    return texts


def _mark(what: str) -> None:
    """Progress on stderr: the test shows it when the run fails or times out."""
    print(f"MARK {what}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--dashboard-url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--expected-charts", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=90)
    parser.add_argument("--hover", action="append", default=[], metavar="NAME=N",
                        help="report the tooltips at N points down chart NAME")  # fmt: skip
    parser.add_argument("--colours", action="append", default=[], metavar="NAME",
                        help="report the colours chart NAME's canvas is painted with")  # fmt: skip
    args = parser.parse_args()
    hover = {}
    for item in args.hover:
        name, _, points = item.rpartition("=")
        if not name or not points.isdigit() or int(points) < 1:
            parser.error(f"--hover {item!r}: expected CHART NAME=N with N >= 1, e.g. 'Conversion Funnel=3'")
        hover[name] = int(points)

    options = Options()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    # The network log is how the report sees each chart-data answer the page got.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    try:
        _mark("driver up")
        driver.get(f"{args.base_url}/login/")
        WebDriverWait(driver, 30, poll_frequency=0.2).until(lambda d: d.find_elements(By.ID, "username"))
        driver.find_element(By.ID, "username").send_keys(args.username)
        # The password comes from the environment so it is not in the process list.
        driver.find_element(By.ID, "password").send_keys(os.environ["SUPERSET_PASSWORD"])
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # Its own budget: a Superset just started on a busy machine can take most of a minute to answer the first
        # login (seen in a fresh clone's `make test`; the same run passed when repeated).
        try:
            WebDriverWait(driver, 90, poll_frequency=0.2).until(lambda d: "/login" not in d.current_url)
        except TimeoutException:
            shown = driver.find_element(By.TAG_NAME, "body").text[:300]
            print(json.dumps({"error": f"login as {args.username} failed at {args.base_url}; the page shows: {shown}"}))
            return 2

        _mark("logged in")
        driver.get(args.dashboard_url)
        states: dict[str, tuple[str, str]] = {}

        def settled(driver: webdriver.Chrome) -> bool:
            charts = driver.find_elements(By.CSS_SELECTOR, CHART)
            states.update((c.get_attribute("data-test-chart-name"), _state(c)) for c in charts)
            return len(states) >= args.expected_charts and all(s != "pending" for s, _ in states.values())

        try:
            WebDriverWait(driver, args.timeout, poll_frequency=0.5).until(settled)
        except TimeoutException:
            pass  # the report names every chart still pending
        _mark("settled")
        # Let the last animations (ECharts grows bars and funnel stages in) finish before the picture.
        time.sleep(3.0)
        driver.save_screenshot(args.screenshot)
        _mark("screenshot")
        received = _received(driver)
        report = {}
        for chart in driver.find_elements(By.CSS_SELECTOR, CHART):
            name = chart.get_attribute("data-test-chart-name")
            state, detail = states.get(name, ("pending", "not seen while waiting"))
            report[name] = {
                "state": state,
                "detail": detail,
                "viz_type": chart.get_attribute("data-test-viz-type"),
                "painted": driver.execute_script(PAINTED_JS, chart),
                "received": received.get(chart.get_attribute("data-test-chart-id")),
            }
            if name in args.colours:
                report[name]["colours"] = driver.execute_script(COLOURS_JS, chart)
            if name in hover:
                report[name]["tooltips"] = _tooltips(driver, chart, hover[name])
        _mark("report")
        print(json.dumps({"charts": report, "unreadable": received.get("unreadable")}))
        return 0
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
