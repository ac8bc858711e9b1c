"""Real headless Chromium for page tests (Debian's ``chromium``, driven by Playwright over CDP).

No browser is downloaded: Playwright launches the system Chromium that ``.ci/run``
installs (``apt-get install chromium``) through ``executable_path``.

Example:
    with open_page("http://127.0.0.1:8080/") as page:
        page.wait_for_selector("img")
        assert not page.console_errors
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def chromium_path() -> str:
    """The Chromium binary (``$EDGEVISION_CHROMIUM`` or the first on PATH); AssertionError naming what to install."""
    path = os.environ.get("EDGEVISION_CHROMIUM") or next(filter(None, map(shutil.which, CANDIDATES)), None)
    assert path, "expected Chromium on PATH for browser tests (apt-get install chromium), got none"
    return path


@contextmanager
def open_page(url: str, *, width: int = 1280, height: int = 900) -> Iterator[object]:
    """A Playwright page at ``url`` in headless Chromium; ``page.console_errors`` collects console errors and page errors."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.console_errors = errors
            page.goto(url)
            yield page
        finally:
            browser.close()
