"""Playwright journeys in Debian's Chromium against Django's live server.

The sync Playwright API runs an event loop in the test thread, which trips Django's async-safety
guard; it is relaxed here, for this suite only. Chromium is the system one (never downloaded),
started headless with a fresh profile and without its background calls to the outside world,
which would otherwise stall it on a machine without internet access.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.browser import pages

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
VIEWPORT = {"width": 1440, "height": 900}
PASSWORD = "journey-password-1"


def compile_catalogs() -> None:
    """Compile the zh-hans catalog when its .mo is missing or older than the .po (it is git-ignored)."""
    po = Path(settings.BASE_DIR, "locale", "zh_Hans", "LC_MESSAGES", "django.po")
    mo = po.with_suffix(".mo")
    if po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime):
        call_command("compilemessages", locale=["zh_Hans"], verbosity=0)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei")
    compile_catalogs()
    with sync_playwright() as playwright:
        # NB: launch() gives every run a fresh temporary profile (Playwright's own --user-data-dir).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def fresh_page(browser: Any, base_url: str, timeout_ms: int = 10_000) -> Iterator[Any]:
    """A page in a fresh browser context (cookies, storage) at ``base_url``; fails on any JavaScript error."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, locale="en-US")
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # NB: what the Content-Security-Policy blocked (an inline script, style or handler) is logged, not thrown
    page.on("console", lambda message: "Content Security Policy" in message.text and errors.append(message.text))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context per journey, pointed at the live server."""
    with fresh_page(browser, live_server.url) as page:
        yield page


@pytest.fixture
def journey_user(transactional_db: Any) -> Any:
    """A superuser the journeys sign in as."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("operator", password=PASSWORD)


@pytest.fixture
def signed_in(page: Any, journey_user: Any) -> Any:
    """The journey's page, signed in as the journey user."""
    pages.sign_in(page, journey_user.username, PASSWORD)
    return page
