"""The pages in a real browser (Debian's chromium, headless) against the lab and the real
daemon: the map agrees with /metrics, a site the lab takes down turns down on the open page
without a reload, a click opens the kelurahan's page, a phone neither scrolls sideways nor
hides state and cause, the public page shows no internals, no request leaves 127.0.0.1 and
the console stays clean. Screenshots go to the directory printed at the start (or
$NETWATCH_SCREENSHOTS). Root: the trouble site lives in a namespace."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from netwatch.daemon.service import Daemon
from netwatch.lab.lab import Lab
from netwatch.lab.plan import Trouble, city, with_trouble
from netwatch.web.views import refresh_seconds
from tests.browser import browser_off_loop, console_errors, outside, shoot
from tests.integration.labkit import FAST, lab_and_daemon, scrape
from tests.metrics import labelled, parse, pick
from tests.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.root]

KECAMATAN = ["18.71.01", "18.71.02"]  # Kedaton, Sukarame: three sites each
HOST = "127.0.0.1"
T = TypeVar("T")


@dataclass
class City:
    lab: Lab
    daemon: Daemon
    url: str
    down_site: str  # the site the lab can take down

    def state(self, site: str) -> str | None:
        return self.daemon.sites.groups[site].state


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def running() -> AsyncIterator[City]:
    plan = replace(city(KECAMATAN, sites_per_kecamatan=3, base=210), timing=FAST)
    plan = with_trouble(plan, [Trouble("down", (plan.sites[1].id,))])
    async with lab_and_daemon(plan, healthy_first=True) as (lab, daemon):
        host, port = daemon.addresses[0]
        running = City(lab, daemon, f"http://{host}:{port}", plan.sites[1].id)
        await until(lambda: all(running.state(s.id) == "up" for s in plan.sites), 30,
                    "every lab site up")
        yield running


async def in_thread(fn: Callable[[], T]) -> T:
    """Selenium blocks: run it off the loop, so the daemon keeps polling meanwhile."""
    return await asyncio.to_thread(fn)


def map_states(driver: WebDriver) -> dict[str, str]:
    return {a.get_attribute("data-site") or "": a.get_attribute("data-state") or ""
            for a in driver.find_elements(By.CSS_SELECTOR, "#map a[data-site]")}


async def page_updates(driver: WebDriver) -> int:
    count: Any = await in_thread(lambda: driver.execute_script("return window.nwUpdates || 0"))
    return int(count or 0)


async def test_wall_map_agrees_with_metrics_and_follows_an_outage(running: City) -> None:
    async with browser_off_loop(1920, 1080) as driver:
        started = time.monotonic()
        await in_thread(lambda: driver.get(running.url + "/"))
        await until(lambda: page_updates(driver), 10, "the page's first update")
        print(f"first data on the page {time.monotonic() - started:.2f} s after navigation")
        got = parse(await scrape(running.daemon))
        exported = {labels["site"]: labels["state"]
                    for labels, value in labelled(got, "netwatch_site_state") if value == 1}
        await until(lambda: in_thread(lambda: map_states(driver) == exported), 10,
                    lambda: f"map {map_states(driver)} == /metrics {exported}")
        assert len(exported) == len(running.lab.plan.sites) == 6
        await in_thread(lambda: driver.execute_script("window.nwMarker = 'same page'"))
        shoot(driver, "noc-wall-all-up")

        # the lab takes a site down: the open page follows within down_after rounds plus
        # two page updates, without a reload
        site, timing = running.down_site, running.lab.plan.timing
        updates_then = await page_updates(driver)
        running.lab.set_reachable(site, False)
        try:
            budget = (timing.down_after * timing.icmp_interval
                      + 2 * refresh_seconds(running.daemon.inventory) + 2.0)
            await until(lambda: in_thread(lambda: map_states(driver)[site] == "down"), budget,
                        lambda: f"{site} down on the page within {budget} s")
            assert await page_updates(driver) - updates_then <= 2 + timing.down_after
            marker = await in_thread(lambda: driver.execute_script("return window.nwMarker"))
            assert marker == "same page"  # no reload happened
            def problem(part: str) -> str:  # the list is redrawn on every update: look again
                return str(driver.execute_script(
                    f'return document.querySelector(\'.problem[data-site="{site}"] .{part}\')'
                    ".textContent"))

            assert re.search(r"^putus sejak \d\d:\d\d, \d+ menit$", problem("since"))
            assert problem("cause") == "rtr down"
            shoot(driver, "noc-wall-one-down")
            driver.find_element(By.ID, "lang").click()
            assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
            assert problem("since").startswith("down since")
            driver.find_element(By.ID, "theme").click()
            shoot(driver, "noc-wall-dark-english")
        finally:
            running.lab.set_reachable(site, True)
        assert outside(driver, HOST) == []
        assert console_errors(driver) == []


async def test_clicking_a_kelurahan_opens_its_page_and_keyboard_reaches_it(
        running: City) -> None:
    site = running.lab.plan.sites[0]
    async with browser_off_loop(1280, 900) as driver:
        await in_thread(lambda: driver.get(running.url + "/"))
        await until(lambda: page_updates(driver), 10, "the page's first update")
        shape = driver.find_element(By.CSS_SELECTOR, f'#map a[data-site="{site.id}"]')
        assert site.name in (shape.get_attribute("aria-label") or "")
        await in_thread(shape.click)
        await until(lambda: driver.current_url.endswith(f"/site/{site.id}"), 5, "site page")
        await until(lambda: page_updates(driver), 10, "the site page's first update")
        assert driver.find_element(By.ID, "site-h").text == site.name
        await until(lambda: in_thread(lambda: driver.find_elements(By.CSS_SELECTOR,
                                                                   ".spark svg path")), 5)
        rows = driver.find_elements(By.CSS_SELECTOR, "#devices tbody tr")
        assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == ["rtr", "ap1"]
        shoot(driver, "site-page")
        # the loss the page shows is the counters' loss: a site whose counters lost no echo
        # shows none (a poll that failed without a round once showed here as 14 % loss)
        got = parse(await scrape(running.daemon))
        shown = await in_thread(lambda: driver.execute_script(
            "return [...document.querySelectorAll('.spark figcaption')]"
            ".map((c) => c.textContent)"))
        for device in ("rtr", "ap1"):
            sent = pick(got, "netwatch_icmp_requests_total", site=site.id, device=device)
            answered = pick(got, "netwatch_icmp_responses_total", site=site.id, device=device)
            if sent == answered:
                assert f"{device} Loss: 0%" in shown, shown
        # the keyboard reaches the map's shapes, and Enter opens the one in focus
        await in_thread(lambda: driver.get(running.url + "/"))
        await until(lambda: page_updates(driver), 10, "the page's first update")
        body = driver.find_element(By.TAG_NAME, "body")
        for _ in range(40):
            body.send_keys(Keys.TAB)
            focused = driver.switch_to.active_element
            if focused.get_attribute("data-site"):
                break
        kode = focused.get_attribute("data-site")
        assert kode, "Tab never reached a kelurahan on the map"
        await in_thread(lambda: focused.send_keys(Keys.ENTER))
        await until(lambda: driver.current_url.endswith(f"/site/{kode}"), 5, "Enter opens it")
        assert outside(driver, HOST) == []
        assert console_errors(driver) == []


async def test_phone_shows_state_and_cause_without_sideways_scrolling(running: City) -> None:
    site = running.down_site
    running.lab.set_reachable(site, False)
    try:
        await until(lambda: running.state(site) == "down", 10, f"{site} down in the daemon")
        async with browser_off_loop(400, 800, mobile=True) as driver:
            await in_thread(lambda: driver.get(running.url + "/"))
            await until(lambda: in_thread(lambda: driver.find_elements(
                By.CSS_SELECTOR, f'.problem[data-site="{site}"]')), 10, "the problem listed")
            width = driver.execute_script("return window.innerWidth")
            assert width == 400
            assert driver.execute_script(
                "return document.documentElement.scrollWidth") <= width
            problem = driver.find_element(By.CSS_SELECTOR, f'.problem[data-site="{site}"]')
            for part in (".badge", ".cause", ".since"):
                element = problem.find_element(By.CSS_SELECTOR, part)
                box = element.rect
                assert element.is_displayed() and element.text, part
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, (part, box)
                assert box["y"] + box["height"] <= 800, (part, box)  # above the fold
            assert problem.find_element(By.CSS_SELECTOR, ".badge").text == "putus"
            shoot(driver, "noc-phone")
            await in_thread(lambda: driver.get(running.url + f"/site/{site}"))
            await until(lambda: page_updates(driver), 10, "the site page's first update")
            assert driver.execute_script(
                "return document.documentElement.scrollWidth") <= width
            shoot(driver, "site-phone")
            await in_thread(lambda: driver.get(running.url + "/public"))
            assert driver.execute_script(
                "return document.documentElement.scrollWidth") <= width
            text = driver.find_element(By.TAG_NAME, "body").text
            assert "Layanan terputus" in text
            assert "rtr" not in text and "/metrics" not in text
            assert not re.search(r"\b(?:127|198\.1[89])\.\d+\.\d+\.\d+\b", driver.page_source)
            shoot(driver, "public-phone")
            assert outside(driver, HOST) == []
            assert console_errors(driver) == []
    finally:
        running.lab.set_reachable(site, True)
