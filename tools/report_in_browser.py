# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open a run's rollout report in headless Chromium (Debian's, through its chromedriver), check what a reader would
see, and keep a screenshot of the whole page.

Usage: report_in_browser.py REPORT_DIR   (the directory of one run's *-report.html and *-summary.json)

The page must load with no console error and no request outside itself, show a summary row per service of the run
and a chart per service that was upgraded, each chart with data in its three panels: the traffic from the
service's ledger, and each version's error ratio and sessions from Prometheus. The screenshot is written beside
the report, as <run>-report.png. Exits 1, naming what is wrong, when the page falls short."""

from __future__ import absolute_import, division, print_function

import glob
import json
import os
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# Started so that it reaches nothing on its own.
CHROMIUM_ARGUMENTS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--window-size=1280,1024"]
# The screenshot shows the page down to this height: the summary and the first charts. A page of 85 services is
# about 57,000 pixels high, a picture too tall to look at.
SCREENSHOT_HEIGHT_LIMIT = 16000
# Per figure of the report: its unit and service, and the points of the lines of each of its panels.
CHART_POINTS = """
return Array.from(document.querySelectorAll('figure.service')).map(figure => ({
  unit: figure.dataset.unit, service: figure.dataset.service,
  points: Object.fromEntries(Array.from(figure.querySelectorAll('g.panel')).map(panel => [panel.dataset.panel,
    Array.from(panel.querySelectorAll('polyline')).reduce((count, line) => count + line.points.numberOfItems, 0)]))}));
"""
# A traffic line has a point where the run starts and one where it ends, and two per change of the weights between.
LEAST_TRAFFIC_POINTS = 4


def chromium(profile):
    """Headless Chromium through Debian's chromedriver (so that Selenium Manager downloads nothing), keeping the
    browser's console log."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        raise RuntimeError("%s and %s are missing: the Debian packages chromium and chromium-driver hold them" % (CHROMIUM, CHROMEDRIVER))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in CHROMIUM_ARGUMENTS + ["--user-data-dir=%s" % profile]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def look_at(page, screenshot):
    """What Chromium shows of ``page``: its console errors, the requests it made, the points of each service's
    charts by (unit, service), and the number of rows of its summary table; the whole page saved to ``screenshot``."""
    with tempfile.TemporaryDirectory(prefix="report-browser-") as profile:
        driver = chromium(profile)
        try:
            driver.get("file://" + os.path.abspath(page))
            seen = {
                "errors": [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"],
                "requests": driver.execute_script("return performance.getEntriesByType('resource').map(entry => entry.name)"),
                "charts": dict(((chart["unit"], chart["service"]), chart["points"]) for chart in driver.execute_script(CHART_POINTS)),
                "rows": len(driver.find_elements("css selector", "table.summary tbody tr")),
            }
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1280, min(height, SCREENSHOT_HEIGHT_LIMIT))
            if not driver.save_screenshot(screenshot):
                raise RuntimeError("Chromium saved no screenshot to %s" % screenshot)
        finally:
            driver.quit()
    return seen


def shortcomings(seen, summary):
    """What the page ``seen`` lacks for the run of ``summary``: one line per problem, none when it is whole."""
    problems = ["console error: %s" % error for error in seen["errors"]]
    problems += ["request outside the page: %s" % request for request in seen["requests"]]
    if seen["rows"] != len(summary["rows"]):
        problems.append("%d summary rows for the run's %d services" % (seen["rows"], len(summary["rows"])))
    run = set((row["unit"], row["service"]) for row in summary["rows"])
    upgraded = set((row["unit"], row["service"]) for row in summary["rows"] if row["result"] == "upgraded")
    problems += ["no chart of %s in %s" % (service, unit) for unit, service in sorted(upgraded - set(seen["charts"]))]
    problems += ["a chart of %s in %s, which is not in the run" % (service, unit) for unit, service in sorted(set(seen["charts"]) - run)]
    for (unit, service), points in sorted(seen["charts"].items()):
        if points.get("traffic", 0) < LEAST_TRAFFIC_POINTS or not points.get("error_ratio") or not points.get("sessions"):
            problems.append("the chart of %s in %s lacks data: %s" % (service, unit, points))
    return problems


def only(pattern):
    found = glob.glob(pattern)
    if len(found) != 1:
        raise RuntimeError("one file matching %s expected, found %d" % (pattern, len(found)))
    return found[0]


def run_files(directory):
    """(the path of the report, the summary) of the one run whose files `directory` holds."""
    with open(only(os.path.join(directory, "*-summary.json")), encoding="utf-8") as handle:
        return only(os.path.join(directory, "*-report.html")), json.load(handle)


def main(directory):
    page, summary = run_files(directory)
    screenshot = page[:-len(".html")] + ".png"
    seen = look_at(page, screenshot)
    problems = shortcomings(seen, summary)
    for problem in problems:
        print("report: %s" % problem, file=sys.stderr)
    print("%s in Chromium: %d charts for %d services upgraded, %d summary rows, %d console errors; screenshot %s" % (
        page, len(seen["charts"]), sum(1 for row in summary["rows"] if row["result"] == "upgraded"), seen["rows"],
        len(seen["errors"]), screenshot))
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
