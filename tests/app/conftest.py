"""Fixtures of the app's tests: an app served on loopback, and Debian's Chromium to drive it.

Chromium comes from the system (`apt-get install -y chromium`), never
from Playwright's downloader. Where it or Playwright is missing, the
browser tests fail with one line saying what to install; they never skip.
Every request a page makes that is not to loopback is aborted and
recorded, and each test's teardown asserts that none was attempted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from appkit import CHROMIUM, CHROMIUM_ARGS, Served, serve


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The app with the stand-in cast by default, shared by a module's tests."""
    served = serve(tmp_path_factory.mktemp("app") / "runs")
    yield served
    served.close()


def _need_browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright: pip install -e '.[app]'", pytrace=False)
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}: "
            "apt-get install -y chromium (as root)",
            pytrace=False,
        )
    return sync_playwright


@dataclass
class Browser:
    browser: Any
    outside: list[str] = field(default_factory=list)

    def context(self, **kwargs: Any) -> Any:
        """A fresh browser context (its own cookies: its own Gradio session)."""
        ctx = self.browser.new_context(viewport={"width": 1400, "height": 1000}, **kwargs)

        def guard(route: Any) -> None:
            url = route.request.url
            if url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:")):
                route.continue_()
            else:
                self.outside.append(url)
                route.abort()

        ctx.route("**/*", guard)
        return ctx


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    sync_playwright = _need_browser()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        b = Browser(browser)
        yield b
        browser.close()


@pytest.fixture
def browser(chromium: Browser) -> Iterator[Browser]:
    """Chromium, checked after the test: no request left this machine."""
    chromium.outside.clear()
    yield chromium
    assert chromium.outside == [], f"requests to outside loopback: {chromium.outside}"
