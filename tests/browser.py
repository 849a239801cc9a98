"""A real browser for the page tests: Debian's chromium, headless, driven by selenium through
Debian's chromedriver (apt chromium chromium-driver; no browser is ever downloaded).

    with browser(1920, 1080) as driver:        # a fresh profile, the viewport emulated
        driver.get(url)
        outside(driver, "127.0.0.1")           # requests that left the host: []
        console_errors(driver)                 # SEVERE console lines: []
        shoot(driver, "noc-wall")              # a PNG in SHOTS (printed once per run)

    async with browser_off_loop(400, 800) as driver:   # in async tests: Chromium starts and
        ...                                            # quits in a thread, the loop runs on
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.conftest import program

# flags for root in a container without a GPU or network: no sandbox (root), nothing the
# browser would fetch by itself (updates, sync, field trials, QUIC probes)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars")
_shots: Path | None = None


def shots() -> Path:
    """Where screenshots go: $NETWATCH_SCREENSHOTS, else a temporary directory."""
    global _shots
    if _shots is None:
        wanted = os.environ.get("NETWATCH_SCREENSHOTS")
        _shots = Path(wanted) if wanted else Path(tempfile.mkdtemp(prefix="netwatch-screens-"))
        _shots.mkdir(parents=True, exist_ok=True)
        print(f"\nscreenshots: {_shots}", file=sys.__stderr__)
    return _shots


@contextmanager
def browser(width: int, height: int, mobile: bool = False) -> Iterator[WebDriver]:
    chromium = program("chromium", "apt install chromium chromium-driver")
    driver_path = program("chromedriver", "apt install chromium chromium-driver")
    profile = tempfile.mkdtemp(prefix="netwatch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        driver.set_page_load_timeout(20)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@asynccontextmanager
async def browser_off_loop(width: int, height: int, mobile: bool = False
                           ) -> AsyncIterator[WebDriver]:
    """browser(), started and stopped in a thread. Chromium takes a second or two to start
    and to quit; on the event loop that stalls a daemon polling on the same loop, whose ICMP
    rounds then miss their deadlines (counted as timeouts: polling errors the test made)."""
    stack = ExitStack()
    driver = await asyncio.to_thread(stack.enter_context, browser(width, height, mobile))
    try:
        yield driver
    finally:
        await asyncio.to_thread(stack.close)


def requested(driver: WebDriver) -> list[str]:
    """Every URL the page asked for since the last call (the DevTools network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def outside(driver: WebDriver, host: str) -> list[str]:
    """Network requests (http, https, ws, wss, any other non-browser scheme) to anywhere but
    `host`; data: URLs and the browser's own chrome:// pages never reach the network."""
    return [u for u in requested(driver)
            if urlsplit(u).scheme not in ("data", "chrome", "chrome-untrusted", "about", "blob")
            and urlsplit(u).hostname != host]


def console_errors(driver: WebDriver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def shoot(driver: WebDriver, name: str) -> Path:
    path = shots() / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
