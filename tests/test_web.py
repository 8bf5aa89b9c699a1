"""Route tests of the phone diary (``nof1 serve``) with Starlette's test client.

Every page, every bad input, and each security check: missing token, forged cookie, missing or
foreign CSRF token, wrong Host, foreign Origin, oversized body, path traversal, rate limit.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import stat
import threading
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from conftest import MakeWorkspace
from nof1 import diary
from nof1.cli import app as cli_app
from nof1.store import Store
from nof1.web.app import create_app
from nof1.web.security import (
    MAX_BODY,
    Attempts,
    WebError,
    load_token,
    token_path,
)
from nof1.workspace import Workspace

PORT = 8765
TOKEN = "A" * 43
BASE = f"http://127.0.0.1:{PORT}"
TODAY = dt.date.today()
HEADACHE_FREE = {"headache_day": "no", "acute_med_days": "0", "took": "yes"}
PAGES = ["/", "/diary", "/event", "/progress", f"/correct?date={TODAY}", "/reports"]


def make_client(folder: Path, *, signed_in: bool = True, **kwargs: object) -> TestClient:
    client = TestClient(create_app(folder, token=TOKEN, port=PORT, **kwargs), base_url=BASE)  # type: ignore[arg-type]
    if signed_in:
        response = client.get(f"/login?token={TOKEN}", follow_redirects=False)
        assert response.status_code == 303
    return client


@pytest.fixture
def client(started: Path) -> TestClient:
    return make_client(started)


def csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match, page.text
    return match.group(1)


def post_diary(client: TestClient, data: dict[str, str], **kwargs: object):  # type: ignore[no-untyped-def]
    date = data.get("date", str(TODAY))
    token = csrf(client, f"/diary?date={date}")
    return client.post("/diary", data={"csrf": token, "date": date, **data}, **kwargs)  # type: ignore[arg-type]


def audit_rows(folder: Path) -> int:
    with Store.open(folder / "nof1.sqlite", create=False) as store:
        return store.count("audit")


def error_of(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error" role="alert">(.*?)</p>', page, re.S)
    return html.unescape(match.group(1)) if match else ""


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


# -- sign-in and sessions -------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_without_the_session_is_401_with_no_diary_data(started: Path, path: str) -> None:
    with Workspace.open(started) as ws:
        diary.log_day(ws, TODAY, {"headache_day": "no", "acute_med_days": 0}, took="yes",
                      note="secret-note")  # fmt: skip
    response = make_client(started, signed_in=False).get(path)
    assert response.status_code == 401
    assert "Sign in" in response.text
    for private in ("Magnesium", "Pack 1", "secret-note", "Migraine", "headache"):
        assert private not in response.text


@pytest.mark.parametrize("path", ["/diary", "/event", "/correct"])
def test_every_form_post_without_the_session_is_401_and_writes_nothing(
    started: Path, path: str
) -> None:
    before = audit_rows(started)
    response = make_client(started, signed_in=False).post(path, data=HEADACHE_FREE)
    assert response.status_code == 401
    assert audit_rows(started) == before


def test_login_sets_an_httponly_samesite_strict_cookie_and_drops_the_token(started: Path) -> None:
    client = make_client(started, signed_in=False)
    response = client.get(f"/login?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"nof1_session_{PORT}=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert TOKEN not in cookie  # the cookie is derived from the token, not the token itself
    assert client.get("/").status_code == 200


def test_login_by_pasting_the_code(started: Path) -> None:
    client = make_client(started, signed_in=False)
    response = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert response.status_code == 303


def test_login_rejects_a_wrong_token(started: Path) -> None:
    client = make_client(started, signed_in=False)
    response = client.get("/login?token=" + "B" * 43, follow_redirects=False)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert client.get("/").status_code == 401


def test_failed_token_attempts_are_rate_limited_even_for_the_right_token(started: Path) -> None:
    client = make_client(started, signed_in=False, attempts=Attempts(per_client=3, total=10))
    for _ in range(3):
        assert client.get("/login?token=wrong-guess").status_code == 403
    response = client.get(f"/login?token={TOKEN}", follow_redirects=False)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "600"
    assert "set-cookie" not in response.headers


def test_rate_limit_window_expires() -> None:
    now = [0.0]
    attempts = Attempts(per_client=2, total=5, window=60, clock=lambda: now[0])
    attempts.fail("x")
    attempts.fail("x")
    assert attempts.blocked("x") and not attempts.blocked("y")
    now[0] = 61.0
    assert not attempts.blocked("x")


def test_total_failures_from_many_clients_block_everyone() -> None:
    attempts = Attempts(per_client=5, total=3)
    for client in ("a", "b", "c"):
        attempts.fail(client)
    assert attempts.blocked("d")


def test_forged_session_cookie_is_refused(started: Path) -> None:
    client = make_client(started, signed_in=False)
    client.cookies.set(f"nof1_session_{PORT}", "0" * 64)
    assert client.get("/").status_code == 401


def test_malformed_cookie_header_is_refused_not_crashed(started: Path) -> None:
    client = make_client(started, signed_in=False)
    response = client.get("/", headers={"cookie": 'nof1_session_8765="\\x00\\"; ;;=='})
    assert response.status_code == 401


def test_cookie_of_another_port_does_not_sign_in(started: Path) -> None:
    other = TestClient(
        create_app(started, token=TOKEN, port=9999), base_url="http://127.0.0.1:9999"
    )
    response = other.get(f"/login?token={TOKEN}", follow_redirects=False)
    client = make_client(started, signed_in=False)
    client.cookies.set("nof1_session_9999", response.cookies["nof1_session_9999"])
    assert client.get("/").status_code == 401


# -- Host, Origin, methods, sizes, headers -----------------------------------------------------


@pytest.mark.parametrize(
    "host", ["evil.example:8765", "127.0.0.1:9999", "192.168.1.20:8765", "127.0.0.1", ""]
)
def test_wrong_host_header_is_refused(client: TestClient, host: str) -> None:
    response = client.get("/", headers={"host": host})
    assert response.status_code == 400
    assert "Wrong host" in response.text


def test_localhost_is_allowed_for_the_default_address(client: TestClient) -> None:
    assert client.get("/", headers={"host": f"localhost:{PORT}"}).status_code == 200


def test_lan_server_accepts_only_its_own_address(started: Path) -> None:
    app = create_app(started, token=TOKEN, host="192.168.1.20", port=PORT)
    lan = TestClient(app, base_url=f"http://192.168.1.20:{PORT}")  # no socket is opened
    assert lan.get(f"/login?token={TOKEN}", follow_redirects=False).status_code == 303
    assert lan.get("/", headers={"host": f"127.0.0.1:{PORT}"}).status_code == 400
    assert lan.get("/", headers={"host": f"localhost:{PORT}"}).status_code == 400


@pytest.mark.parametrize("origin", ["http://evil.example", "null", f"https://127.0.0.1:{PORT}"])
def test_cross_origin_post_is_refused_and_writes_nothing(
    client: TestClient, started: Path, origin: str
) -> None:
    before = audit_rows(started)
    response = post_diary(client, HEADACHE_FREE, headers={"origin": origin})
    assert response.status_code == 403
    assert audit_rows(started) == before


@pytest.mark.parametrize("site", ["cross-site", "same-site", "none"])
def test_post_that_the_browser_marks_as_not_same_origin_is_refused(
    client: TestClient, started: Path, site: str
) -> None:
    before = audit_rows(started)
    headers = {"origin": BASE, "sec-fetch-site": site}  # even with a matching Origin
    assert post_diary(client, HEADACHE_FREE, headers=headers).status_code == 403
    assert audit_rows(started) == before


def test_same_origin_post_is_accepted(client: TestClient) -> None:
    response = post_diary(client, HEADACHE_FREE, headers={"origin": BASE})
    assert response.status_code == 200


def test_same_origin_form_with_null_origin_is_accepted(client: TestClient) -> None:
    """Chromium's form POST under Referrer-Policy: no-referrer: Origin null, fetch metadata."""
    headers = {"origin": "null", "sec-fetch-site": "same-origin"}
    assert post_diary(client, HEADACHE_FREE, headers=headers).status_code == 200


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_refused(client: TestClient, method: str) -> None:
    assert client.request(method, "/diary").status_code == 405


def test_oversized_body_is_refused_and_writes_nothing(client: TestClient, started: Path) -> None:
    before = audit_rows(started)
    token = csrf(client, "/diary")
    data = {**HEADACHE_FREE, "csrf": token, "date": str(TODAY), "note": "x" * (MAX_BODY + 10)}
    response = client.post("/diary", data=data)
    assert response.status_code == 413
    assert audit_rows(started) == before


def test_oversized_chunked_body_without_length_is_refused(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(MAX_BODY // 1024 + 5):
            yield b"note=" + b"x" * 1024

    response = client.post(
        "/diary",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_garbage_body_is_a_clean_refusal(client: TestClient) -> None:
    response = client.post(
        "/diary", content=b"\xff\xfe\x00garbage", headers={"content-type": "multipart/form-data"}
    )
    assert response.status_code in (400, 403)
    assert client.get("/").status_code == 200  # the server survived


@pytest.mark.parametrize("path", [*PAGES, "/login", "/static/style.css", "/nowhere"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


def test_pages_load_no_external_assets(client: TestClient) -> None:
    for path in PAGES:
        page = client.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', page), path


# -- no directory listing, reports only -------------------------------------------------------


@pytest.mark.parametrize("path", ["/static/", "/static", "/static/../protocol.toml"])
def test_no_directory_listing_of_static_files(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "app.js" not in response.text and "protocol" not in response.text


def test_reports_folder_lists_html_reports_only(client: TestClient, started: Path) -> None:
    (started / "reports" / "notes.txt").write_text("private", encoding="utf-8")
    page = client.get("/reports/").text
    assert "notes.txt" not in page and "nof1.sqlite" not in page and "protocol.toml" not in page


@pytest.mark.parametrize(
    "name",
    [
        "..%2Fprotocol.toml",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2fnof1.sqlite",
        "report.html%00.txt",
        ".hidden.html",
        "protocol.toml",
    ],
)
def test_report_path_traversal_is_refused(client: TestClient, name: str) -> None:
    response = client.get(f"/reports/{name}")
    assert response.status_code == 404
    assert "trial" not in response.text.lower() or "No such report" in response.text


def test_report_symlink_out_of_the_workspace_is_not_served(
    client: TestClient, started: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.html"
    outside.write_text("<p>not yours</p>", encoding="utf-8")
    (started / "reports" / "leak.html").symlink_to(outside)
    (started / "reports" / "db.html").symlink_to(started / "nof1.sqlite")
    assert client.get("/reports/leak.html").status_code == 404
    assert client.get("/reports/db.html").status_code == 404
    assert "leak.html" not in client.get("/reports").text


def test_reports_are_listed_and_served_with_a_script_free_policy(
    client: TestClient, started: Path
) -> None:
    (started / "reports" / "report-2026.html").write_text(
        "<html><body><h1>Report</h1></body></html>", encoding="utf-8"
    )
    (started / "reports" / "report-2026.json").write_text("{}", encoding="utf-8")
    listing = client.get("/reports").text
    assert "report-2026.html" in listing and "report-2026.json" not in listing
    response = client.get("/reports/report-2026.html")
    assert response.status_code == 200 and "<h1>Report</h1>" in response.text
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert client.get("/reports/report-2026.json").status_code == 404


def test_manifest_and_icons_are_public_and_hold_no_trial_data(started: Path) -> None:
    client = make_client(started, signed_in=False)
    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest.json()["display"] == "standalone"
    assert "Magnesium" not in manifest.text and "Migraine" not in manifest.text
    for icon in manifest.json()["icons"]:
        assert client.get(icon["src"]).status_code == 200


# -- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "0" * 64, "not-hex"])
def test_post_without_a_valid_csrf_token_is_refused_and_writes_nothing(
    client: TestClient, started: Path, token: str | None
) -> None:
    before = audit_rows(started)
    data = {**HEADACHE_FREE, "date": str(TODAY)}
    if token is not None:
        data["csrf"] = token
    response = client.post("/diary", data=data)
    assert response.status_code == 403
    assert "expired" in response.text
    assert audit_rows(started) == before


def test_csrf_token_of_another_form_is_refused(client: TestClient, started: Path) -> None:
    before = audit_rows(started)
    event_token = csrf(client, "/event")
    response = client.post("/diary", data={**HEADACHE_FREE, "csrf": event_token})
    assert response.status_code == 403
    assert audit_rows(started) == before


def test_csrf_tokens_change_with_the_access_token(started: Path) -> None:
    first = csrf(make_client(started), "/diary")
    other = TestClient(create_app(started, token="C" * 43, port=PORT), base_url=BASE)
    other.get("/login?token=" + "C" * 43)
    assert csrf(other, "/diary") != first


# -- today ----------------------------------------------------------------------------------


def test_today_page_shows_the_words_of_nof1_today(client: TestClient, started: Path) -> None:
    cli = CliRunner().invoke(cli_app, ["today", "--trial", str(started)])
    assert cli.exit_code == 0
    page = text_of(client.get("/").text)
    for line in cli.stdout.strip().splitlines():
        assert line.strip() in page


def test_today_page_shows_already_logged(client: TestClient) -> None:
    assert "Fill in today's diary" in client.get("/").text
    post_diary(client, HEADACHE_FREE)
    page = client.get("/").text
    assert "Already logged today" in page and "Fill in today" not in page


def test_today_page_offers_yesterday_when_it_is_missing(client: TestClient) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    assert f"/diary?date={yesterday}" in client.get("/").text
    post_diary(client, {**HEADACHE_FREE, "date": str(yesterday)})
    assert f"/diary?date={yesterday}" not in client.get("/").text


def test_today_page_shows_a_met_stopping_rule(client: TestClient, started: Path) -> None:
    with Workspace.open(started) as ws:
        diary.record_event(ws, TODAY, "admitted to hospital", "severe", serious=True)
    page = text_of(client.get("/").text)
    assert "Stopping rule met" in page and 'class="card today alarm"' in client.get("/").text
    cli = CliRunner().invoke(cli_app, ["today", "--trial", str(started)])
    for line in cli.stdout.strip().splitlines():  # the same words as `nof1 today`
        assert line.strip() in page
    assert "STOPPING RULE MET" in cli.stdout
    assert "take Pack" not in page  # a met, unreviewed rule: the page never says take


def test_today_page_shows_an_early_stop(client: TestClient, started: Path) -> None:
    result = CliRunner().invoke(cli_app, ["stop", "--reason", "rash", "--trial", str(started)])
    assert result.exit_code == 0, result.output
    page = text_of(client.get("/").text)
    assert "The trial has stopped" in page and "rash" in page
    cli = CliRunner().invoke(cli_app, ["today", "--trial", str(started)])
    for line in cli.stdout.strip().splitlines():
        assert line.strip() in page
    assert "The trial was stopped on" in text_of(client.get("/progress").text)


def test_today_page_before_start_says_to_lock(workspace: Path) -> None:
    page = text_of(make_client(workspace).get("/").text)
    assert "the trial is not locked yet; run `nof1 start`" in page
    assert "Fill in today" not in page


# -- the diary form -----------------------------------------------------------------------------


def test_diary_form_shows_questions_scale_date_and_the_condition(client: TestClient) -> None:
    raw = client.get("/diary").text
    page = text_of(raw)
    assert TODAY.strftime("%-d %B %Y") in page
    assert "Did you have a headache today?" in page
    assert "Peak pain on headache days: a number 0–10 (e.g. 5)" in page
    assert "Only if “Headache day” is yes — otherwise leave it empty." in page
    assert 'data-ask-if="headache_day"' in raw
    assert "Did you take Pack" in page  # blinded: the pack code, never the arm
    assert_blinded(page)


def assert_blinded(page: str) -> None:
    """No arm name appears (beyond the trial's title, which the person chose and knows)."""
    page = page.replace("Magnesium for migraine prevention", "")
    for arm in ("Magnesium", "Placebo", "magnesium", "placebo", "arm A", "arm B"):
        assert arm not in page, arm


def test_diary_form_for_yesterday_is_one_tap_away(client: TestClient) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    assert f'href="/diary?date={yesterday}"' in client.get("/diary").text
    assert yesterday.strftime("%-d %B %Y") in client.get(f"/diary?date={yesterday}").text


def test_logging_a_day_from_the_web_records_it_as_web(client: TestClient, started: Path) -> None:
    response = post_diary(client, {**HEADACHE_FREE, "note": "slept well"})
    assert response.status_code == 200
    assert "Logged" in response.text and "Headache day: <strong>no</strong>" in response.text
    with Store.open(started / "nof1.sqlite", create=False) as store:
        entries = store.day_entries(TODAY)
        assert {e.outcome for e in entries} == {"headache_day", "acute_med_days"}
        assert {e.source for e in entries} == {"web"}
        assert [n.source for n in store.notes()] == ["web"]
        assert [a.source for a in store.current_adherence()] == ["web"]
        assert {a.command for a in store.audit()[-4:]} == {"log"}
    history = CliRunner().invoke(cli_app, ["history", "today", "--trial", str(started)])
    assert "headache_day = 0" in history.stdout and "note: slept well" in history.stdout


def test_headache_day_from_the_web_needs_pain_and_severity(client: TestClient) -> None:
    response = post_diary(client, {"headache_day": "yes", "acute_med_days": "1", "took": "yes"})
    assert response.status_code == 400
    assert error_of(response.text, "peak_pain").startswith("missing values for peak_pain")
    response = post_diary(client, {"headache_day": "yes", "peak_pain": "6", "severity": "mild",
                                   "acute_med_days": "1", "took": "yes"})  # fmt: skip
    assert response.status_code == 200


def test_value_for_a_skipped_question_is_refused_next_to_it(
    client: TestClient, started: Path
) -> None:
    before = audit_rows(started)
    response = post_diary(client, {**HEADACHE_FREE, "peak_pain": "4"})
    assert response.status_code == 400
    assert error_of(response.text, "peak_pain") == (
        "peak_pain is not asked when headache_day is no (the protocol asks it only if "
        "headache_day == yes): leave peak_pain out"
    )
    assert audit_rows(started) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("acute_med_days", "1.5", "acute_med_days must be a whole number 0–10 (got 1.5)"),
        ("acute_med_days", "-1", "acute_med_days must be a whole number 0–10 (got -1)"),
        ("acute_med_days", "nan", "acute_med_days must be a whole number 0–10 (got 'nan')"),
        ("acute_med_days", "1e308", "acute_med_days must be a whole number 0–10 (got 1000"),
        ("headache_day", "maybe", "headache_day must be yes or no (got 'maybe')"),
        ("headache_day", "<script>", "headache_day must be yes or no (got '<script>')"),
    ],
)
def test_bad_value_reshows_the_form_with_the_library_error_next_to_the_field(
    client: TestClient, started: Path, field: str, value: str, message: str
) -> None:
    before = audit_rows(started)
    response = post_diary(client, {**HEADACHE_FREE, field: value})
    assert response.status_code == 400
    assert error_of(response.text, field).startswith(message)
    assert "<script>" not in response.text
    assert audit_rows(started) == before


def test_missing_adherence_is_shown_next_to_took(client: TestClient) -> None:
    response = post_diary(client, {"headache_day": "no", "acute_med_days": "0"})
    assert response.status_code == 400
    assert error_of(response.text, "took").startswith("--took is missing: did you take")


@pytest.mark.parametrize(
    ("date", "message"),
    [
        ((TODAY + dt.timedelta(days=1)).isoformat(), "is in the future"),
        ("2026-02-30", "date must be YYYY-MM-DD, today or yesterday (got '2026-02-30')"),
        ("1999-01-01", "is before the trial starts"),
        ("\x00\x07", "date must be YYYY-MM-DD"),
    ],
)
def test_bad_date_is_refused(client: TestClient, started: Path, date: str, message: str) -> None:
    before = audit_rows(started)
    token = csrf(client, "/diary")
    response = client.post("/diary", data={**HEADACHE_FREE, "csrf": token, "date": date})
    assert response.status_code == 400
    assert message in error_of(response.text, "date")
    assert audit_rows(started) == before
    if date.isprintable():
        assert client.get(f"/diary?date={date}").status_code == 400


def test_logging_a_day_twice_is_refused_and_the_form_says_already_logged(
    client: TestClient, started: Path
) -> None:
    token = csrf(client, "/diary")
    post_diary(client, HEADACHE_FREE)
    before = audit_rows(started)
    response = client.post("/diary", data={**HEADACHE_FREE, "csrf": token, "date": str(TODAY)})
    assert response.status_code == 400
    assert "is already logged" in text_of(response.text)
    assert audit_rows(started) == before
    assert "Already logged" in client.get("/diary").text


def test_note_is_escaped_everywhere(client: TestClient) -> None:
    post_diary(client, {**HEADACHE_FREE, "note": "<img src=x onerror=alert(1)>"})
    page = client.get(f"/correct?date={TODAY}").text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_file_upload_in_place_of_a_value_is_treated_as_empty(
    client: TestClient, started: Path
) -> None:
    before = audit_rows(started)
    token = csrf(client, "/diary")
    response = client.post(
        "/diary",
        data={"csrf": token, "date": str(TODAY), "headache_day": "no", "took": "yes"},
        files={"acute_med_days": ("x.txt", b"0", "text/plain")},
    )
    assert response.status_code == 400
    assert "acute_med_days" in error_of(response.text, "acute_med_days")
    assert audit_rows(started) == before


def test_diary_before_start_is_refused_with_the_library_words(workspace: Path) -> None:
    client = make_client(workspace)
    response = client.get("/diary")
    assert response.status_code == 400
    assert "nothing can be logged before `nof1 start`" in text_of(response.text)


def test_diary_refused_after_an_unamended_locked_edit(client: TestClient, started: Path) -> None:
    path = started / "protocol.toml"
    path.write_text(path.read_text().replace("mcid = 1.5", "mcid = 2.5", 1))
    response = post_diary_raw(client, HEADACHE_FREE)
    assert response.status_code == 400
    assert "amend" in text_of(response.text)


def post_diary_raw(client: TestClient, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = client.app.state.site.keys.csrf("diary")  # type: ignore[attr-defined]
    return client.post("/diary", data={"csrf": token, "date": str(TODAY), **data})


# -- two writers ------------------------------------------------------------------------------


def test_phone_and_terminal_writing_at_once_lose_nothing(client: TestClient, started: Path) -> None:
    days = [TODAY - dt.timedelta(days=i) for i in range(8)]
    errors: list[BaseException] = []

    def terminal() -> None:
        try:
            with Workspace.open(started) as ws:
                for day in days[::2]:
                    diary.log_day(ws, day, {"headache_day": "no", "acute_med_days": 0},
                                  took="yes")  # fmt: skip
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=terminal)
    thread.start()
    for day in days[1::2]:
        assert post_diary_raw(client, {**HEADACHE_FREE, "date": str(day)}).status_code == 200
    thread.join()
    assert not errors
    with Store.open(started / "nof1.sqlite", create=False) as store:
        assert store.logged_dates() >= set(days)
        sources = {e.date: e.source for e in store.current_entries()}
    assert {sources[d] for d in days[::2]} == {"cli"}
    assert {sources[d] for d in days[1::2]} == {"web"}


def test_same_day_from_phone_and_terminal_keeps_exactly_one(
    client: TestClient, started: Path
) -> None:
    with Workspace.open(started) as ws:
        diary.log_day(ws, TODAY, {"headache_day": "no", "acute_med_days": 0}, took="yes")
    response = post_diary_raw(client, {**HEADACHE_FREE, "acute_med_days": "2"})
    assert response.status_code == 400 and "already logged" in response.text
    with Store.open(started / "nof1.sqlite", create=False) as store:
        assert [e.value for e in store.day_entries(TODAY) if e.outcome == "acute_med_days"] == [0]


# -- correct a day ----------------------------------------------------------------------------


def test_correct_a_day_shows_history_and_records_the_reason(
    client: TestClient, started: Path
) -> None:
    post_diary(client, HEADACHE_FREE)
    page = client.get(f"/correct?date={TODAY}")
    assert page.status_code == 200
    assert "(phone)" in page.text and "Why are you correcting it?" in page.text
    token = csrf(client, f"/correct?date={TODAY}")
    response = client.post(
        "/correct",
        data={
            "csrf": token,
            "date": str(TODAY),
            "headache_day": "no",
            "acute_med_days": "2",
            "took": "yes",
            "reason": "forgot the evening dose",
        },  # fmt: skip
    )
    assert response.status_code == 200 and "Corrected" in response.text
    with Store.open(started / "nof1.sqlite", create=False) as store:
        history = store.history(TODAY)
    corrections = [e for e in history.entries if e.is_correction]
    assert [(e.outcome, e.value, e.reason, e.source) for e in corrections] == [
        ("acute_med_days", 2.0, "forgot the evening dose", "web")
    ]  # unchanged fields are not re-recorded
    assert (
        "correction: forgot the evening dose (phone)" in client.get(f"/correct?date={TODAY}").text
    )


def test_correct_without_a_reason_is_refused_next_to_reason(
    client: TestClient, started: Path
) -> None:
    post_diary(client, HEADACHE_FREE)
    before = audit_rows(started)
    token = csrf(client, f"/correct?date={TODAY}")
    response = client.post(
        "/correct",
        data={"csrf": token, "date": str(TODAY), "acute_med_days": "3", "reason": "  "},
    )
    assert response.status_code == 400
    assert error_of(response.text, "reason") == '--correct needs --reason "why the value changed"'
    assert audit_rows(started) == before


def test_correct_with_nothing_changed_is_refused(client: TestClient) -> None:
    post_diary(client, HEADACHE_FREE)
    token = csrf(client, f"/correct?date={TODAY}")
    response = client.post(
        "/correct",
        data={"csrf": token, "date": str(TODAY), **HEADACHE_FREE, "reason": "checking"},
    )
    assert response.status_code == 400
    assert "nothing to correct" in text_of(response.text)


def test_correct_an_empty_day_points_to_the_diary(client: TestClient) -> None:
    page = client.get(f"/correct?date={TODAY}").text
    assert "Nothing recorded for this day." in page and f"/diary?date={TODAY}" in page


# -- side effects -----------------------------------------------------------------------------


def test_event_is_recorded_from_the_web(client: TestClient, started: Path) -> None:
    token = csrf(client, "/event")
    response = client.post(
        "/event",
        data={
            "csrf": token,
            "date": str(TODAY),
            "description": "loose stools",
            "severity": "mild",
            "action": "none",
        },  # fmt: skip
    )
    assert response.status_code == 200 and "Side effect recorded" in response.text
    assert "serious" not in text_of(response.text).lower().split("recorded")[1][:40]
    with Store.open(started / "nof1.sqlite", create=False) as store:
        row = store._conn.execute("SELECT source, serious FROM adverse_events").fetchone()
    assert tuple(row) == ("web", 0)


def test_serious_event_is_loud(client: TestClient) -> None:
    token = csrf(client, "/event")
    response = client.post(
        "/event",
        data={
            "csrf": token,
            "date": str(TODAY),
            "description": "admitted to hospital",
            "severity": "severe",
            "serious": "yes",
        },  # fmt: skip
    )
    page = text_of(response.text)
    assert "SERIOUS" in page
    assert "A serious adverse event: contact your supervising clinician now." in page
    assert "STOPPING RULE MET: Any serious adverse event" in page
    assert "Stop the trial intervention: do not take it" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"description": " ", "severity": "mild"}, "description", "--description is empty"),
        ({"description": "rash", "severity": "awful"}, "severity", "--severity must be mild"),
        ({"description": "rash", "severity": ""}, "severity", "--severity must be mild"),
    ],
)
def test_bad_event_reshows_the_form_with_the_error_next_to_the_field(
    client: TestClient, started: Path, data: dict[str, str], field: str, message: str
) -> None:
    before = audit_rows(started)
    token = csrf(client, "/event")
    response = client.post("/event", data={"csrf": token, "date": str(TODAY), **data})
    assert response.status_code == 400
    assert error_of(response.text, field).startswith(message)
    assert audit_rows(started) == before


# -- progress -------------------------------------------------------------------------------


def test_progress_grid_shows_logged_missing_today_and_pack_codes_only(
    client: TestClient, started: Path
) -> None:
    yesterday = TODAY - dt.timedelta(days=1)
    post_diary(client, {**HEADACHE_FREE, "date": str(yesterday)})
    page = client.get("/progress").text
    assert f'title="{yesterday} · day 20 · Pack' in page and "logged" in page
    assert re.search(rf'class="day g\d today" title="{TODAY}', page)
    assert "missing" in page  # earlier period days were not logged
    assert "Pack 1" in page and "Pack 2" in page
    assert_blinded(page)
    assert "days left after today" in text_of(page)


def test_progress_names_the_arms_once_revealed(client: TestClient, started: Path) -> None:
    with Workspace.open(started) as ws:
        ws.record_reveal("Dr Who", "serious adverse event", early=True)
    page = text_of(client.get("/progress").text)
    assert "Pack 1" not in page


# -- the access token -------------------------------------------------------------------------


def test_token_file_is_created_owner_only(tmp_path: Path) -> None:
    token, made = load_token(tmp_path)
    assert made and len(token) >= 40
    mode = stat.S_IMODE(token_path(tmp_path).stat().st_mode)
    assert mode == 0o600
    assert load_token(tmp_path) == (token, False)


def test_new_token_replaces_the_old_and_ends_sessions(started: Path) -> None:
    old, _ = load_token(started)
    new, made = load_token(started, new=True)
    assert made and new != old
    assert stat.S_IMODE(token_path(started).stat().st_mode) == 0o600
    stale = TestClient(create_app(started, token=old, port=PORT), base_url=BASE)
    stale.get(f"/login?token={old}")
    fresh = TestClient(create_app(started, token=new, port=PORT), base_url=BASE)
    fresh.cookies.update(stale.cookies)
    assert fresh.get("/").status_code == 401


def test_token_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    load_token(tmp_path)
    os.chmod(token_path(tmp_path), 0o644)
    with pytest.raises(WebError, match=r"can be read by other users \(mode 644, must be 600\)"):
        load_token(tmp_path)


def test_damaged_token_file_is_refused(tmp_path: Path) -> None:
    fd = os.open(token_path(tmp_path), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"short\n")
    os.close(fd)
    with pytest.raises(WebError, match="does not hold a valid access token"):
        load_token(tmp_path)


def test_token_file_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("A" * 43)
    os.chmod(target, 0o600)
    token_path(tmp_path).symlink_to(target)
    with pytest.raises(WebError, match="is a symbolic link"):
        load_token(tmp_path)


# -- a broken trial folder ----------------------------------------------------------------------


def test_broken_protocol_file_is_reported_not_crashed(client: TestClient, started: Path) -> None:
    (started / "protocol.toml").write_text("[trial\ntitle = ", encoding="utf-8")
    response = client.get("/")
    assert response.status_code == 500
    assert "Error: not valid TOML" in text_of(response.text)
    assert client.get("/static/style.css").status_code == 200  # still serving


def test_trial_folder_removed_behind_the_server(client: TestClient, started: Path) -> None:
    (started / "protocol.toml").unlink()
    response = client.get("/progress")
    assert response.status_code == 500 and "Error:" in response.text


def test_a_wide_scale_is_a_number_field(make_workspace: MakeWorkspace) -> None:
    folder = make_workspace(
        replace=[
            ('units = "points (0-10)"', 'units = "points (0-100)"'),
            ("max = 10\n", "max = 100\n"),
        ],
        start_trial=True,
    )
    client = make_client(folder)
    raw = client.get("/diary").text
    assert 'class="number" type="text" inputmode="decimal" name="peak_pain"' in raw
    assert 'placeholder="e.g. 50"' in raw
    data = {"headache_day": "yes", "peak_pain": "55.5", "severity": "mild", "acute_med_days": "1",
            "took": "yes"}  # fmt: skip
    assert post_diary(client, data).status_code == 200
    bad = post_diary(
        client, {**data, "date": str(TODAY - dt.timedelta(days=1)), "peak_pain": "101"}
    )
    assert error_of(bad.text, "peak_pain") == "peak_pain must be a number 0–100 (got 101)"


def test_progress_before_start_says_so_without_a_server_error(workspace: Path) -> None:
    response = make_client(workspace).get("/progress")
    assert response.status_code == 409
    assert "nothing can be logged before `nof1 start`" in text_of(response.text)


def test_a_stored_value_written_outside_nof1_is_shown_not_crashed(
    client: TestClient, started: Path
) -> None:
    day = TODAY - dt.timedelta(days=3)
    with Store.open(started / "nof1.sqlite", create=False) as store:
        store._conn.execute(
            "INSERT INTO entries (date, outcome, value, recorded_at, command) "
            "VALUES (?, 'headache_day', 'garbage', '2026-01-01T00:00:00+00:00', 'sqlite3')",
            (day.isoformat(),),
        )
    for path in (f"/correct?date={day}", f"/diary?date={day}", "/progress"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "(unreadable stored value)" in client.get(f"/correct?date={day}").text


def test_double_tapped_save_over_real_http_records_the_day_once(started: Path) -> None:
    """Four simultaneous submissions of one new day (a double tap, two phones): one is saved,
    the others get "already logged", and the day holds one value per outcome."""
    import http.client
    import socket
    import urllib.parse

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(started, token=TOKEN, port=port)
    keys = app.state.site.keys
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    body = urllib.parse.urlencode({**HEADACHE_FREE, "csrf": keys.csrf("diary"), "date": str(TODAY)})
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Cookie": f"{keys.cookie_name}={keys.session}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def tap() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        barrier.wait()
        connection.request("POST", "/diary", body=body, headers=headers)
        statuses.append(connection.getresponse().status)
        connection.close()

    taps = [threading.Thread(target=tap) for _ in range(4)]
    for t in taps:
        t.start()
    for t in taps:
        t.join()
    server.should_exit = True
    thread.join(timeout=10)
    assert sorted(statuses) == [200, 400, 400, 400]
    with Store.open(started / "nof1.sqlite", create=False) as store:
        assert len(store.history(TODAY).entries) == 2
        assert len(store.history(TODAY).adherence) == 1


def test_a_long_padded_value_is_not_cut_into_a_valid_one(client: TestClient, started: Path) -> None:
    before = audit_rows(started)
    response = post_diary(client, {**HEADACHE_FREE, "headache_day": "no" + " " * 200 + "x"})
    assert response.status_code == 400
    assert error_of(response.text, "headache_day").startswith("headache_day must be yes or no")
    assert audit_rows(started) == before


def test_a_long_note_is_kept_whole(client: TestClient, started: Path) -> None:
    note = "slept badly; " * 300  # 3,900 characters
    assert post_diary(client, {**HEADACHE_FREE, "note": note}).status_code == 200
    with Store.open(started / "nof1.sqlite", create=False) as store:
        assert [n.text for n in store.notes()] == [note.strip()]


def test_a_day_that_meets_a_stopping_rule_is_announced_loudly(client: TestClient) -> None:
    bad = {"headache_day": "yes", "peak_pain": "9", "severity": "severe", "acute_med_days": "2",
           "took": "yes"}  # fmt: skip
    for back in (2, 1):
        post_diary(client, {**bad, "date": str(TODAY - dt.timedelta(days=back))})
    response = post_diary(client, bad)
    assert response.status_code == 200
    page = text_of(response.text)
    assert "STOPPING RULE MET: Pain 9/10 or worse on 3 days in a row" in page
    assert "Stop the trial intervention: do not take it" in page
    assert 'class="alarm" role="alert"' in response.text


def test_control_and_bidi_characters_in_a_note_are_shown_escaped(client: TestClient) -> None:
    note = "fine\u202etxt.exe\x1b[31m"
    assert post_diary(client, {**HEADACHE_FREE, "note": note}).status_code == 200
    page = client.get(f"/correct?date={TODAY}").text
    assert "\u202e" not in page and "\x1b" not in page
    assert "fine\\u202etxt.exe\\u001b[31m" in page
