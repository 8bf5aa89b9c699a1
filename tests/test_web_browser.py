"""Real-browser tests of the phone diary: Playwright driving Debian's chromium.

A uvicorn server runs in a thread on 127.0.0.1 (a free port) for a started trial. At 390 px (a
phone) and 1280 px (a desktop) the test logs a day, sees it in ``nof1 history``, corrects it,
records a side effect, sees the blinded progress grid and a report, and saves a screenshot of
every page (to ``$NOF1_SCREENSHOTS`` when set, else a temporary folder). Playwright cannot
download browsers here: the tests skip with a reason when /usr/bin/chromium is missing (``.ci/run``
installs it).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nof1 import diary
from nof1.cli import app as cli_app
from nof1.workspace import Workspace

CHROMIUM = Path(os.environ.get("NOF1_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "T" * 43
TODAY = dt.date.today()

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
        "Playwright cannot download browsers here",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def trial(started: Path) -> Path:
    """A started trial with a few days logged from the terminal and one missing."""
    with Workspace.open(started) as ws:
        for back in range(2, 12):
            if back == 5:
                continue  # a missing day
            headache = back % 3 == 0
            values: dict[str, str | float] = {"headache_day": "yes" if headache else "no",
                                              "acute_med_days": 1 if headache else 0}  # fmt: skip
            if headache:
                values |= {"peak_pain": 6, "severity": "moderate"}
            date = TODAY - dt.timedelta(days=back)
            day = ws.schedule.day(date)
            assert day is not None
            took = "yes" if diary.needs_adherence(day) else None
            diary.log_day(ws, date, values, took=took)
    report = started / "reports" / "interim-report.html"
    report.write_text(
        "<!doctype html><html><head><meta name=viewport content='width=device-width'>"
        "<style>body{font-family:sans-serif;padding:1rem}</style></head><body>"
        "<h1>Interim report</h1><p>Written by nof1 report.</p></body></html>",
        encoding="utf-8",
    )
    return started


@pytest.fixture
def server(trial: Path) -> Iterator[str]:
    import uvicorn

    from nof1.web.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(trial, token=TOKEN, host="127.0.0.1", port=port),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("NOF1_SCREENSHOTS", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def snap(page: Any, folder: Path, name: str, width: int) -> None:
    page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    if width <= 400:  # a phone: nothing may scroll sideways
        fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, f"{name} scrolls sideways at {width} px"


def choose(page: Any, question: str, value: str) -> None:
    """Tap an answer button as a person would (the label holding the radio input)."""
    page.click(f"#q-{question} label:has(input[value='{value}'])")


def submit(page: Any) -> None:
    """Send the page's form and wait for the answer page (a click alone does not wait)."""
    with page.expect_navigation():
        page.click("form.diary button[type=submit]")


def history(trial: Path) -> str:
    result = CliRunner().invoke(cli_app, ["history", "today", "--trial", str(trial)])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("width", [390, 1280])
def test_log_correct_event_and_blinded_progress_in_a_real_browser(
    browser: Any, server: str, trial: Path, shots: Path, width: int
) -> None:
    height = 844 if width < 500 else 900
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{server}/diary")  # not signed in yet
    assert "Sign in" in page.content()
    snap(page, shots, "signin", width)

    page.goto(f"{server}/login?token={TOKEN}")
    assert page.url == f"{server}/"  # the token left the address bar
    assert "trial day 21" in page.inner_text("main")
    snap(page, shots, "today", width)

    with page.expect_navigation():
        page.click("text=Fill in today's diary")
    assert page.is_visible("#q-peak_pain")  # not answered yet: the condition is unknown
    snap(page, shots, "diary", width)
    choose(page, "headache_day", "no")
    assert page.is_hidden("#q-peak_pain") and page.is_hidden("#q-severity")
    snap(page, shots, "diary-no-headache", width)
    choose(page, "headache_day", "yes")
    assert page.is_visible("#q-peak_pain")
    choose(page, "headache_day", "no")
    choose(page, "acute_med_days", "0")
    choose(page, "took", "yes")
    page.fill("#note", "from the phone")
    submit(page)
    assert "Logged" in page.inner_text("main")
    snap(page, shots, "saved", width)
    shown = history(trial)
    assert "headache_day = 0" in shown and "note: from the phone" in shown
    assert "peak_pain" not in shown

    page.goto(f"{server}/")
    assert "Already logged today" in page.inner_text("main")

    page.goto(f"{server}/correct?date={TODAY}")
    choose(page, "acute_med_days", "2")
    submit(page)  # no reason: refused, next to the field
    assert '--correct needs --reason "why the value changed"' in page.inner_text("#reason-error")
    choose(page, "acute_med_days", "2")
    page.fill("#reason", "took a second dose at night")
    submit(page)
    assert "Corrected" in page.inner_text("main")
    assert "correction: took a second dose at night" in history(trial)
    page.goto(f"{server}/correct?date={TODAY}")
    snap(page, shots, "correct", width)

    page.goto(f"{server}/event")
    snap(page, shots, "event", width)
    page.fill("#description", "loose stools")
    page.click("label:has(input[name=severity][value=mild])")
    submit(page)
    assert "Side effect recorded" in page.inner_text("main")
    snap(page, shots, "event-saved", width)

    page.goto(f"{server}/progress")
    grid = page.inner_text("main")
    assert "Pack 1" in grid and "Pack 2" in grid
    body = grid.replace("Magnesium for migraine prevention", "")
    assert "Magnesium" not in body and "Placebo" not in body
    assert page.locator(".day.logged").count() >= 10
    assert page.locator(".day.missing").count() >= 1
    snap(page, shots, "progress", width)

    page.goto(f"{server}/reports")
    snap(page, shots, "reports", width)
    with page.expect_navigation():
        page.click("text=interim-report.html")
    assert "Interim report" in page.inner_text("body")
    context.close()


def test_diary_works_without_javascript(browser: Any, server: str, trial: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/login?token={TOKEN}")
    page.goto(f"{server}/diary")
    assert page.is_visible("#q-peak_pain")  # shown, with its condition in words
    assert "Only if “Headache day” is yes" in page.inner_text("#q-peak_pain")
    choose(page, "headache_day", "no")
    choose(page, "peak_pain", "3")  # answered although skipped: the server refuses
    choose(page, "acute_med_days", "0")
    choose(page, "took", "yes")
    submit(page)
    assert "peak_pain is not asked when headache_day is no" in page.inner_text("#peak_pain-error")
    choose(page, "headache_day", "yes")
    choose(page, "severity", "mild")
    submit(page)
    assert "Logged" in page.inner_text("main")
    assert "peak_pain = 3" in history(trial)
    context.close()


def test_wrong_token_in_the_browser_sets_no_session(browser: Any, server: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(f"{server}/login?token=wrong")
    assert response is not None and response.status == 403
    assert context.cookies() == []
    context.close()
