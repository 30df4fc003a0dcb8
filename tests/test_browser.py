"""The dashboard in a real headless Chromium (Debian's package; nothing downloaded):
login form, ledger lights, navigation, phone width. Needs `chromium` on PATH: `make test`
installs it on Debian; under CI=true a missing browser fails instead of skipping."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

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


def signed_in(
    browser: object, site: LiveServer, path: str, *, user: str = "duchashi", width: int = 1280
) -> Any:
    """A page at `path` after the login form (390 px wide is a phone in WeCom's browser)."""
    height = 844 if width < 600 else 900
    page = browser.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
    page.goto(f"{site.url}/login?next={path}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button")
    page.wait_for_url(f"**{path}")
    return page


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
    page = signed_in(browser, site, "/ledger", width=390)
    # the reason shows where it matters (red and yellow cards) and nowhere else
    assert page.locator("table.ledger tr.red td.reason").first.is_visible()
    assert "已逾期" in page.locator("table.ledger tr.red td.reason").first.inner_text()
    assert page.locator("table.ledger tr.green td.reason").first.is_hidden()
    assert page.locator("table.ledger td.kw").first.is_hidden()
    assert page.locator("table.ledger td.date").first.is_visible()
    # the page itself never scrolls sideways; only the table's own box may
    assert page.evaluate("document.body.scrollWidth") <= 390


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_supervisor_imports_a_sheet_and_downloads_the_ledger(
    browser: object, site: LiveServer, tmp_path: object
) -> None:
    from pathlib import Path

    from tests.factories import office_sheet

    with site.rt.sessions() as s:
        create_account(s, "admin1", PASSWORD, is_admin=True)
        s.commit()
    sheet = Path(str(tmp_path)) / "台账.xlsx"
    sheet.write_bytes(office_sheet().getvalue())
    page = signed_in(browser, site, "/ledger", user="admin1")
    page.click("text=导入 Excel")
    page.wait_for_url("**/ledger/import")
    page.set_input_files("input[name=file]", str(sheet))
    page.click("form.filters button")  # 试导入 is ticked by default
    assert "试导入结果（未写入）：新增 4 项" in page.locator("section.banner").inner_text()
    page.set_input_files("input[name=file]", str(sheet))
    page.uncheck("input[name=dry_run]")
    page.click("form.filters button")
    assert "导入完成：新增 4 项" in page.locator("section.banner").inner_text()
    with page.expect_download() as download:
        page.click("text=下载当前台账（Excel）")
    saved = Path(str(tmp_path)) / "out.xlsx"
    download.value.save_as(saved)
    from openpyxl import load_workbook

    ws = load_workbook(saved).active
    assert ws is not None and ws.max_row == 2 + 5 + 4  # title, header, 5 + 4 tasks


@pytest.mark.parametrize("backend", ["sqlite"])
def test_rankings_on_a_phone(browser: object, site: LiveServer) -> None:
    """A leader opens 排名 in WeCom's browser: the lists are tinted, each unit has its trend
    line, the page never scrolls sideways, and a published week opens from its link."""
    from tests.factories import two_published_weeks

    two_published_weeks(site.rt)
    page = signed_in(browser, site, "/rankings", width=390)
    assert "实时，截至今天，未定稿" in page.locator("h1").inner_text()
    page.click("text=11月16日—11月22日（周）")
    page.wait_for_url("**/rankings?**")
    assert "已发布，定稿" in page.locator("h1").inner_text()
    red, black = page.locator("table.rank tr.red"), page.locator("table.rank tr.black")
    assert "河西乡" in red.inner_text() and "城关镇" in black.inner_text()
    assert red.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(253, 226, 225)"
    assert "#3 逾期未完成" in black.inner_text()
    assert red.locator("svg.spark polyline").count() == 1  # 河西乡 ranked in both weeks
    assert page.locator("table.rank thead").first.is_hidden()  # a card per unit on a phone
    place = red.locator("td.rank")
    assert place.evaluate("e => getComputedStyle(e, '::before').content") == '"第"'
    # the deductions take a whole line of the card, not a squeezed column
    card, reason = black.bounding_box(), black.locator("td.reason").bounding_box()
    assert card is not None and reason is not None and reason["width"] > card["width"] * 0.8
    assert page.evaluate("document.body.scrollWidth") <= 390
