"""The managers' dashboard in a real browser: headless Chromium (Debian's package) driven by Selenium
against the service under gunicorn on the demo data (DESIGN §12).

One backend only, to keep time down: PostgreSQL (a database of its own next to TEST_DATABASE_URL's)
when it is among TEST_BACKENDS and reachable — always under CI=true — else a SQLite file.
DASHBOARD_SCREENSHOTS=<dir> writes the big-screen and phone screenshots there (docs/ in the README).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import pytest
import sqlalchemy as sa

from tests.browser import Browser, ensure_chromium
from tests.conftest import _backends, _pg_reachable, _pg_url
from tests.live import LiveService

CI = os.environ.get("CI", "").lower() == "true"
ECHARTS = "/dashboard/static/vendor/echarts/echarts.esm.min.js"
WAIT_SECONDS = 60


def _recreate(url: str, name: str, *, create: bool = True) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


@pytest.fixture(scope="module")
def browser_database(tmp_path_factory):
    """A database of the demo data for the live service, dropped afterwards (a SQLite file: removed with tmp)."""
    if "postgresql" in _backends():
        url = _pg_url()
        reason = _pg_reachable(url)
        if reason is None:
            parts = sa.engine.make_url(url)
            name = f"{parts.database}_browser"
            _recreate(url, name)
            yield parts.set(database=name).render_as_string(hide_password=False)
            _recreate(url, name, create=False)
            return
        if CI:
            pytest.fail(f"PostgreSQL is required under CI=true but {url} is unreachable: {reason}", pytrace=False)
    yield f"sqlite:///{tmp_path_factory.mktemp('dashboard') / 'dashboard.db'}"


@pytest.fixture(scope="module")
def chromium():
    reason = ensure_chromium()
    if reason is not None:
        if CI:
            pytest.fail(f"the browser tests need Chromium under CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def live(chromium, browser_database):
    service = LiveService(browser_database, workers=2)
    service.prepare(seed="demo").start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def browser(live):
    opened = Browser()
    yield opened
    opened.quit()


class Page:
    """The dashboard in the browser, with the waits a user's eyes would do; each visit in a new tab."""

    def __init__(self, browser: Browser, live: LiveService) -> None:
        self.browser, self.live, self.driver = browser, live, browser.driver
        self.origin = f"http://127.0.0.1:{live.port}"

    def wait(self, condition, message: str):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT_SECONDS).until(lambda _driver: condition(), message)

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def visible(self, element_id: str) -> bool:
        script = "const e = document.getElementById(arguments[0]); return !!e && !e.closest('[hidden]')"
        return self.js(script, element_id)

    def text(self, element_id: str) -> str:
        return self.js("return document.getElementById(arguments[0]).textContent.trim()", element_id)

    def tile(self, name: str) -> str:
        value = self.js("return document.querySelector(`#tile-${arguments[0]} .value`).textContent", name)
        return value.replace(",", "")

    def period(self, start: str, end: str) -> None:
        self.js(
            "document.getElementById('filter-from').value = arguments[0];"
            "document.getElementById('filter-to').value = arguments[1]",
            start, end,
        )

    def count(self, selector: str) -> int:
        return self.js("return document.querySelectorAll(arguments[0]).length", selector)

    def loaded(self) -> str | None:
        return self.js("return document.body.dataset.loading === 'false' ? document.body.dataset.loaded : null")

    def open(self, username: str, password: str = "Demo@2019") -> None:
        """A fresh visit: the log and the network record start here, then log in and wait for the panels."""
        # A new tab has an empty sessionStorage: an earlier test's session is not carried over.
        earlier = self.driver.current_window_handle
        self.driver.switch_to.new_window("tab")
        fresh = self.driver.current_window_handle
        self.driver.switch_to.window(earlier)
        self.driver.close()
        self.driver.switch_to.window(fresh)
        self.browser.console_errors()
        self.browser.requested_urls()
        self.driver.get(f"{self.origin}/dashboard")
        self.wait(lambda: self.visible("login"), "the login form")
        self.js(
            "document.getElementById('username').value = arguments[0];"
            "document.getElementById('password').value = arguments[1];"
            "document.getElementById('login-submit').click()",
            username, password,
        )
        self.wait(lambda: self.visible("board") and self.loaded(), "the panels after login")

    def reload_panels(self, button: str = "refresh") -> None:
        before = self.loaded()
        self.js("document.getElementById(arguments[0]).click()", button)
        self.wait(lambda: self.loaded() not in (None, before) or self.visible("login"), "the panels to reload")

    def chart_option(self, element_id: str) -> dict:
        """The option ECharts holds for a chart, read through the page's own copy of the module."""
        script = (
            "const done = arguments[arguments.length - 1];"
            f"import('{ECHARTS}').then((echarts) => done(JSON.stringify("
            "echarts.getInstanceByDom(document.getElementById(arguments[0])).getOption())));"
        )
        return json.loads(self.driver.execute_async_script(script, element_id))

    def assert_clean(self) -> None:
        """No console errors, and every request went to the app's own origin."""
        assert self.browser.console_errors() == []
        foreign = [url for url in self.browser.requested_urls() if not url.startswith(("data:", "blob:"))
                   and f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != self.origin]
        assert foreign == []

    def api(self, method: str, path: str, *, username: str, body=None):
        status, answer = self.live.request(method, path, body=body, token=self.live.login(username, "Demo@2019"))
        assert status < 300, answer
        return answer


@pytest.fixture
def page(browser, live) -> Page:
    return Page(browser, live)


def _screenshots() -> Path | None:
    target = os.environ.get("DASHBOARD_SCREENSHOTS")
    return Path(target) if target else None


def test_manager_sees_the_zone_figures_and_category_shares(page):
    page.open("manager")
    page.browser.viewport(1920, 1080)
    assert (page.tile("total"), page.tile("resolved")) == ("1301", "749")
    assert page.text("scope").endswith("全区") and page.text("tile-total").startswith("收集")

    shares = dict(page.js(
        "return [...document.querySelectorAll('#table-category tbody tr')]"
        ".map((row) => [row.cells[0].textContent, row.cells[2].textContent])"
    ))
    assert (shares["配套服务"], shares["物业管理"]) == ("19%", "17%")
    pie = page.chart_option("chart-category")["series"][0]["data"]
    total = sum(item["value"] for item in pie)
    by_name = {item["name"]: item["value"] for item in pie}
    assert total == 1301
    assert (round(100 * by_name["配套服务"] / total), round(100 * by_name["物业管理"] / total)) == (19, 17)
    trend = page.chart_option("chart-trend")["series"]
    assert sum(trend[0]["data"]) == 1301 and sum(trend[1]["data"]) == 749

    assert page.count("#list-overdue li.problem") > 0 and page.count("#table-departments tbody tr") > 5
    assert page.visible("panel-review") and page.count("#list-review li.review") > 0
    page.assert_clean()

    shots = _screenshots()
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
        # The period of the demo data, so the coverage gauge reads 2019's visits.
        page.period("2019-03-01", "2019-08-31")
        page.reload_panels()
        time.sleep(1)  # the charts' entry animation (400 ms) — only for the picture, nothing is asserted on it
        page.browser.screenshot(shots / "dashboard-big-screen.png")
        page.browser.viewport(390, 1500, mobile=True, scale=2)
        time.sleep(1)
        page.browser.screenshot(shots / "dashboard-phone.png")


def test_problem_detail_timeline_review_and_export(page, tmp_path):
    page.open("manager")
    page.js("document.querySelector('#list-overdue li.problem').click()")
    page.wait(lambda: page.js("return document.getElementById('problem-dialog').open"), "the problem dialog")
    assert page.js("return document.querySelectorAll('#problem-timeline li').length") >= 1
    assert page.text("problem-detail").startswith("WT-")
    page.js("document.querySelector('#problem-dialog form button').click()")

    visit_id = int(page.js("return document.querySelector('#list-review li.review').dataset.visitId"))
    item = f"#list-review li[data-visit-id='{visit_id}']"
    page.js("document.querySelector(arguments[0]).click()", f"{item} button.confirm")
    page.wait(lambda: page.count(item) == 0, "the reviewed check-in to leave the queue")
    assert page.api("GET", f"/visits/{visit_id}", username="manager")["review"] == "confirmed"

    page.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    page.js("document.getElementById('export-csv').click()")
    page.wait(lambda: any(p.suffix == ".csv" for p in tmp_path.iterdir()), "the CSV download")
    exported = next(p for p in tmp_path.iterdir() if p.suffix == ".csv").read_bytes()
    assert exported.startswith(b"\xef\xbb\xbf") and "统计概览" in exported.decode("utf-8-sig")
    assert not page.visible("message")
    page.assert_clean()


def test_filing_a_problem_moves_the_tile_by_one(page):
    page.open("manager")
    before = int(page.tile("total"))
    problem = {"title": "浏览器测试：园区路灯不亮", "description": "夜间无照明", "category_id": 1}
    page.api("POST", "/problems", username="ent001", body=problem)
    page.api("POST", "/stats/refresh", username="manager")
    page.reload_panels()
    assert int(page.tile("total")) == before + 1
    page.assert_clean()


def test_supervising_a_problem_moves_the_supervised_tile_by_one(page):
    """督办: the tile is the summary's count of open supervised problems (no paging through lists)."""
    page.open("manager")
    before = page.api("GET", "/stats/summary", username="manager")["supervised"]
    assert page.tile("supervised") == str(before)
    target = next(
        item for item in page.api("GET", "/problems?status=submitted&limit=50", username="manager")["items"]
        if not item["supervised"]
    )
    page.api("POST", f"/problems/{target['id']}/supervise", username="manager", body={})
    page.api("POST", "/stats/refresh", username="manager")
    page.reload_panels()
    assert page.tile("supervised") == str(before + 1)
    page.assert_clean()


def test_a_department_user_sees_only_its_scope(page):
    page.open("dept01")
    own = page.api("GET", "/stats/summary", username="dept01")
    me = page.api("GET", "/me", username="dept01")
    assert int(page.tile("total")) == own["total"] < 1301
    assert int(page.tile("resolved")) == own["resolved"]
    assert not page.visible("panel-review") and not page.visible("panel-coverage")
    # Its problems are those ever dispatched to it; the league also shows where else they went.
    rows_js = "return [...document.querySelectorAll('#table-departments tbody tr')].map((r) => r.cells[0].textContent)"
    shown = page.js(rows_js)
    rows = page.api("GET", "/stats/by/department", username="dept01")["rows"]
    assert sorted(shown) == sorted(r["label"] for r in rows if r["total"] and r["key"] is not None)
    assert next(r for r in rows if r["key"] == me["department_id"])["total"] == own["total"]
    assert all(r["total"] <= own["total"] for r in rows)
    pie = page.chart_option("chart-category")["series"][0]["data"]
    assert sum(item["value"] for item in pie) == own["total"]
    page.assert_clean()


def test_an_api_error_shows_a_message(page):
    page.open("manager")
    page.period("2019-08-01", "2019-03-01")
    page.reload_panels()
    assert page.visible("message") and "结束时间" in page.text("message")
    assert page.visible("board")
    page.browser.console_errors()  # the 422 answers are logged as failed loads; that is the point here


def test_an_ended_or_expired_session_returns_to_the_login_form(page, live):
    page.open("manager")
    refresh_token = page.js("return sessionStorage.getItem('lianqi.dashboard.refresh')")
    assert page.js("return Object.keys(localStorage).length") == 0 and refresh_token
    # Presenting a refresh token after it was rotated revokes its whole session (token theft).
    assert live.request("POST", "/auth/refresh", token=refresh_token)[0] == 200
    assert live.request("POST", "/auth/refresh", token=refresh_token)[0] == 401
    page.reload_panels()
    page.wait(lambda: page.visible("login"), "the login form after the session ended")
    assert page.visible("login-error") and "重新登录" in page.text("login-error")

    expired = jwt.encode(
        {"sub": "2", "type": "refresh", "jti": "expired", "sid": 1, "iat": 1_500_000_000, "nbf": 1_500_000_000,
         "exp": 1_500_000_060},
        live.env["JWT_SECRET_KEY"], algorithm="HS256",
    )
    page.js("sessionStorage.setItem('lianqi.dashboard.refresh', arguments[0])", expired)
    page.driver.refresh()
    page.wait(lambda: page.visible("login") and page.visible("login-error"), "the login form for an expired token")
    assert not page.visible("board")
    page.browser.console_errors()  # the 401 answers are logged as failed loads


def test_english_labels_with_an_english_browser(live):
    english = Browser(width=1280, height=900, language="en-US")
    try:
        page = Page(english, live)
        page.open("manager")
        assert page.text("tile-total").startswith("Filed") and page.js("return document.documentElement.lang") == "en"
        page.assert_clean()
    finally:
        english.quit()
