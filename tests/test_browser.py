"""The dashboard in a real headless Chromium (Debian's package; nothing downloaded):
login form, ledger lights, navigation, phone width. Needs `chromium` on PATH: `make test`
installs it on Debian; under CI=true a missing browser fails instead of skipping."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from bot.runtime import Runtime
from bot.web.auth import create_account
from tests.conftest import County, LiveServer, serve_app, service_missing

PASSWORD = "correct horse battery"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[object]:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        service_missing("Chromium", FileNotFoundError("chromium not on PATH"))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def site(rt: Runtime, county: County) -> Iterator[LiveServer]:
    with rt.sessions() as s:
        create_account(s, "duchashi", PASSWORD)
        s.commit()
    yield from serve_app(rt)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_login_ledger_and_navigation(browser: object, site: LiveServer) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.goto(f"{site.url}/ledger")
    assert "/login" in page.url
    page.fill("input[name=username]", "duchashi")
    page.fill("input[name=password]", "wrong password!")
    page.click("button")
    assert page.locator(".error").inner_text() == "用户名或密码不正确"
    page.fill("input[name=username]", "duchashi")
    page.fill("input[name=password]", PASSWORD)
    page.click("button")
    page.wait_for_url("**/ledger")
    first = page.locator("table.ledger tbody tr").first
    assert "#3" in first.inner_text()  # the overdue item leads
    red = first.locator(".light").evaluate("e => getComputedStyle(e).backgroundColor")
    assert red == "rgb(217, 48, 37)"
    page.select_option("select[name=unit]", "HXX")
    page.click("form.filters button")
    assert page.locator("table.ledger tbody tr").count() == 2  # #2 open, #5 closed
    page.click("text=#2")
    page.wait_for_url("**/task/2")
    assert "更新河道巡查台账" in page.locator("h1").inner_text()
    page.click("text=退出 duchashi")
    page.wait_for_url("**/login")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_phone_width_hides_secondary_columns(browser: object, site: LiveServer) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    page.goto(f"{site.url}/login")
    page.fill("input[name=username]", "duchashi")
    page.fill("input[name=password]", PASSWORD)
    page.click("button")
    page.wait_for_url("**/ledger")
    assert page.locator("table.ledger td.reason").first.is_hidden()
    assert page.locator("table.ledger td.date").first.is_visible()
    # the page itself never scrolls sideways; only the table's own box may
    assert page.evaluate("document.body.scrollWidth") <= 390
