"""Open a Superset dashboard in headless Chromium and report each chart's state as JSON.

Runs under Superset's venv (it ships selenium), so the project venv needs no
browser driver:

    SUPERSET_PASSWORD=... .local/superset-venv/bin/python tests/e2e/dashboard_browser.py \
        --base-url URL --dashboard-url URL --username admin --screenshot docs/dashboard.png

Prints {"charts": {name: {"state": "data"|"error"|"pending", "detail": ...}}}.
A chart counts as rendered with data when it shows an ECharts canvas, table
rows or a big number, and no loading spinner; as an error when Superset shows
an error alert in it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--dashboard-url", required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--expected-charts", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()

    options = Options()
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=options)
    try:
        driver.get(f"{args.base_url}/login/")
        deadline = time.monotonic() + 30
        while not driver.find_elements(By.ID, "username") and time.monotonic() < deadline:
            time.sleep(0.2)
        driver.find_element(By.ID, "username").send_keys(args.username)
        # The password comes from the environment so it is not in the process list.
        driver.find_element(By.ID, "password").send_keys(os.environ["SUPERSET_PASSWORD"])
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        while "/login" in driver.current_url and time.monotonic() < deadline:
            time.sleep(0.2)
        if "/login" in driver.current_url:
            print(json.dumps({"error": f"login as {args.username} failed at {args.base_url}"}))
            return 2

        driver.get(args.dashboard_url)
        deadline = time.monotonic() + args.timeout
        states: dict[str, tuple[str, str]] = {}
        while time.monotonic() < deadline:
            charts = driver.find_elements(By.CSS_SELECTOR, CHART)
            states = {c.get_attribute("data-test-chart-name"): _state(c) for c in charts}
            settled = len(states) >= args.expected_charts and all(s != "pending" for s, _ in states.values())
            if settled:
                break
            time.sleep(0.5)
        # Let the last animations (ECharts grows bars and funnel stages in) finish before the picture.
        time.sleep(3.0)
        driver.save_screenshot(args.screenshot)
        print(json.dumps({"charts": {name: {"state": s, "detail": d} for name, (s, d) in states.items()}}))
        return 0
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
