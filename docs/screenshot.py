"""Render an HTML report in headless Chromium and save a screenshot (for the README).

Usage::

    python docs/screenshot.py REPORT.html docs/report.png

Needs Debian's Chromium (``apt-get install chromium``; ``fonts-noto-cjk`` for Chinese
glyphs) and the test extra's playwright.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    report, png = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    executable = shutil.which("chromium")
    if executable is None:
        print("no Chromium: apt-get install chromium fonts-noto-cjk", file=sys.stderr)
        return 2
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 1250})
        page.goto(report.as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.screenshot(path=str(png))
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
