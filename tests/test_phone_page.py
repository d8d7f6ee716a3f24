"""The citizen's phone: a ticket's live status page from its QR, and the hall's public
page, served by a real `onewindow serve` and opened in Debian's chromium (headless,
selenium with the system chromedriver) at a phone's 360 px.

Also: the token is the hub's and the issuing kiosk's alone (no device's frame carries
it, whatever its role), it works for its own business day only (a restart keeps it,
the next day does not), and the pages are bounded per address.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import hall_time
from hub_process import QUIET, HubProcess, RawClient
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dispatcher.core import commands as c
from dispatcher.core.dispatcher import Dispatcher
from dispatcher.core.errors import DispatchError
from dispatcher.hall import SAMPLE_HALL, HallConfigError, hall_layout, load_hall, read_toml
from dispatcher.hall import parse_hall as parse_hall_file
from dispatcher.hub.phone_token import TOKEN_SHAPE, new_token, ticket_by_token
from printers.slip import slip_from_reply, wait_text
from printers.template import load_template

# ONEWINDOW_SCREENSHOTS=docs/images pytest tests/test_phone_page.py renews the docs' pictures;
# otherwise they go to a scratch folder, so a test run never changes the checkout.
IMAGES = Path(os.environ.get("ONEWINDOW_SCREENSHOTS")
              or Path(tempfile.gettempdir()) / "onewindow-phone-shots")
PUBLIC = "https://hall.example"       # the sample hall's public_url


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def command(url: str, role: str, device: str, name: str,
                  message_id: str | None = None, **args: Any) -> dict:
    client = await RawClient.hello(url, role, device)
    try:
        return await client.command(name, message_id, **args)
    finally:
        await client.close()


def local(hub: HubProcess, status_url: str) -> str:
    """The ticket's QR address, on this test's hub instead of the hall's name."""
    assert status_url.startswith(f"{PUBLIC}/t/")
    return status_url.replace(PUBLIC, f"http://127.0.0.1:{hub.port}")


def get(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    folder = tmp_path_factory.mktemp("phone")
    with HubProcess(f"sqlite:///{folder / 'hall.db'}", extra=QUIET) as process:
        yield process


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=360,800",
                "--lang=zh-CN", "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(arg)
    options.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": 360, "height": 800, "pixelRatio": 2.0, "touch": True}})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def text(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def wait_for(driver: webdriver.Chrome, what: str, timeout: float = 15.0) -> None:
    WebDriverWait(driver, timeout).until(lambda d: what in text(d),
                                         f"{what!r} never appeared: {text(driver)!r}")


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    """The whole page at phone width (taller than the screen if it must be)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 360, "height": max(800, int(height)), "deviceScaleFactor": 2,
        "mobile": True})
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / name
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    path.write_bytes(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 360, "height": 800, "deviceScaleFactor": 2, "mobile": True})
    return path


# ---------------------------------------------------------------- in the browser


def test_the_qr_page_shows_the_wait_then_the_call_live(hub: HubProcess, browser) -> None:
    url = hub.url
    assert run(command(url, "caller", "C-B03", "open_window", window="B03"))["ok"]
    for _ in range(2):
        assert run(command(url, "kiosk", "K-B1", "issue_ticket", queue="quick_b"))["ok"]
    issued = run(command(url, "kiosk", "K-B1", "issue_ticket", queue="quick_b"))
    result = issued["result"]
    number, status = result["ticket"]["number"], result["status"]
    assert status["ahead"] == 2
    assert TOKEN_SHAPE.fullmatch(result["status_token"])
    assert result["ticket"]["id"] not in result["status_url"]   # nothing countable
    page = local(hub, result["status_url"])

    browser.get(page)
    assert browser.execute_script("return window.innerWidth") == 360
    body = text(browser)
    assert number in body and "马上办" in body and "Quick Service" in body
    assert "前面还有" in body and "2 人" in body and "2 people" in body
    printed = wait_text(status["expected_wait_s"], status["expected_wait_range_s"])
    assert printed[0] != "暂无估计" and printed[0] in body and printed[1] in body
    assert body.index("前面还有") < body.index("Ahead of you")   # Chinese first
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "conn").get_attribute("data-mode") == "live")
    no_overflow = "return document.documentElement.scrollWidth <= window.innerWidth"
    assert browser.execute_script(no_overflow)
    screenshot(browser, "phone-waiting.png")

    # the same page, never reloaded: a marker survives, vibrate is recorded
    browser.execute_script("window.stillHere = true; navigator.vibrate = function (p) {"
                           " window.vibrated = p; return true; };")
    assert run(command(url, "caller", "C-B03", "call_next", window="B03"))["ok"]
    wait_for(browser, "1 人")
    assert run(command(url, "caller", "C-B03", "call_next", window="B03"))["ok"]
    wait_for(browser, "0 人")
    assert browser.execute_script("return window.vibrated") is None   # not called yet
    called = run(command(url, "caller", "C-B03", "call_next", window="B03"))
    assert called["result"]["ticket"]["number"] == number
    wait_for(browser, "请到 综合受理窗口B03 办理")
    assert "Please go to Window B03" in text(browser)
    assert browser.execute_script("return window.stillHere") is True
    assert browser.execute_script("return window.vibrated") is not None
    message_px = ("return parseFloat(getComputedStyle("   # one script: the page redraws
                  "document.querySelector('.message .zh')).fontSize)")
    assert browser.execute_script(message_px) >= 32
    assert "前面还有" not in text(browser)
    assert browser.execute_script(no_overflow)
    screenshot(browser, "phone-called.png")
    # large text (the phone's text size at 160%): bigger, and still no sideways scrolling
    browser.execute_script("document.documentElement.style.fontSize = '160%'")
    assert browser.execute_script(no_overflow)
    assert browser.execute_script(message_px) >= 48
    screenshot(browser, "phone-called-large-text.png")
    browser.execute_script("document.documentElement.style.fontSize = ''")

    assert run(command(url, "caller", "C-B03", "start_service", window="B03"))["ok"]
    wait_for(browser, "正在 综合受理窗口B03 办理")
    assert run(command(url, "caller", "C-B03", "finish_service", window="B03"))["ok"]
    wait_for(browser, "已办结")


def test_a_changed_token_is_not_found(hub: HubProcess, browser) -> None:
    issued = run(command(hub.url, "kiosk", "K-B1", "issue_ticket", queue="quick_b"))
    page = local(hub, issued["result"]["status_url"])
    changed = page[:-1] + ("A" if page[-1] != "A" else "B")
    browser.get(changed)
    body = text(browser)
    assert "票号不存在" in body and "Ticket not found" in body
    screenshot(browser, "phone-not-found.png")
    assert issued["result"]["ticket"]["number"] not in body
    for wrong in (changed, changed + ".json", page.rsplit("/", 1)[0] + "/"
                  + issued["result"]["ticket"]["id"]):
        status, content, _ = get(wrong)
        assert status == 404 and "票号不存在" in content


def test_the_page_polls_where_websockets_are_blocked(hub: HubProcess, browser) -> None:
    url = hub.url
    assert run(command(url, "caller", "C-B05", "open_window", window="B05"))["ok"]
    issued = run(command(url, "kiosk", "K-B2", "issue_ticket", queue="quick_b"))
    number = issued["result"]["ticket"]["number"]
    blocked = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                      {"source": "delete window.WebSocket;"})
    try:
        browser.get(local(hub, issued["result"]["status_url"]))
        assert number in text(browser)
        WebDriverWait(browser, 10).until(
            lambda d: d.find_element(By.ID, "conn").get_attribute("data-mode") == "poll")
        while (called := run(command(url, "caller", "C-B05", "call_next", window="B05"))
               )["result"]["ticket"]["number"] != number:
            assert called["ok"], called
        wait_for(browser, "请到 综合受理窗口B05 办理", timeout=15)
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                {"identifier": blocked["identifier"]})
        browser.get("about:blank")


def test_the_hall_page_lists_each_zones_queues(hub: HubProcess, browser) -> None:
    for window in ("B09", "B10"):
        opened = run(command(hub.url, "caller", f"C-{window}", "open_window", window=window))
        assert opened["ok"], opened
    assert run(command(hub.url, "kiosk", "K-B3", "issue_ticket", queue="quick_b"))["ok"]
    assert run(command(hub.url, "caller", "C-B09", "call_next", window="B09"))["ok"]
    browser.get(f"http://127.0.0.1:{hub.port}/")
    body = text(browser)
    assert "自然人综合服务区" in body and "Individual Service Zone" in body
    assert "法人综合服务区" in body and "税务服务" in body
    windows = browser.execute_script(   # one script: the live page redraws its rows
        "return Number(document.querySelector('li.queue[data-prefix=\"B\"] .windows')"
        ".textContent)")
    assert windows >= 2        # B09 and B10, at least
    assert "最近叫号" in body and "综合受理窗口B09" in body
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.ID, "conn").get_attribute("data-mode") == "live")
    # read in one script: the live page redraws its rows, so an element found in one
    # call may be gone by the next
    waiting_b = ("return Number(document.querySelector('li.queue[data-prefix=\"B\"] "
                 ".waiting').textContent)")
    before = browser.execute_script(waiting_b)
    assert run(command(hub.url, "kiosk", "K-B3", "issue_ticket", queue="quick_b"))["ok"]
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(waiting_b) == before + 1)
    assert browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(browser, "phone-hall.png")
    status, content, headers = get(f"http://127.0.0.1:{hub.port}/hall.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    data = json.loads(content)
    assert "clerk" not in content and "status_token" not in content
    assert {z["name"][0] for z in data["zones"]} == {"法人综合服务区", "自然人综合服务区"}


# ---------------------------------------------------------------- the token's privacy


class Recording(RawClient):
    """A raw client that keeps the text of every frame it receives, replies included."""

    def __init__(self, ws: Any) -> None:
        super().__init__(ws)
        self.raw: list[str] = []

    async def recv(self, timeout: float = 10.0) -> dict[str, Any]:
        text = str(await asyncio.wait_for(self.ws.recv(), timeout))
        self.raw.append(text)
        frame = json.loads(text)
        if frame.get("type") == "event":
            self.events.append(frame)
        return frame

    async def drain(self, seconds: float) -> list[str]:
        """Every frame so far, after reading until ``seconds`` pass without one."""
        try:
            while True:
                await self.recv(seconds)
        except TimeoutError:
            return self.raw


def test_no_device_but_the_issuing_kiosk_ever_sees_the_token(hub: HubProcess) -> None:
    async def scenario() -> tuple[str, dict[str, list[str]]]:
        url = hub.url
        watchers = {
            "display": await Recording.hello(url, "display", "D-B"),
            "led": await Recording.hello(url, "led", "LED-1"),
            "caller": await Recording.hello(url, "caller", "C-B07"),
            "evaluator": await Recording.hello(url, "evaluator", "E-B03"),
            "console": await Recording.hello(url, "console", "CONSOLE-1"),
            "other kiosk": await Recording.hello(url, "kiosk", "K-B2"),
        }
        seen: dict[str, list[str]] = {}
        kiosk = await RawClient.hello(url, "kiosk", "K-B1")
        issued = await kiosk.command("issue_ticket", "privacy-1", queue="quick_b")
        token = issued["result"]["status_token"]
        again = await kiosk.command("issue_ticket", "privacy-1", queue="quick_b")
        assert again["result"]["status_token"] == token    # a retry: the first reply
        await kiosk.close()
        caller = watchers["caller"]
        assert (await caller.command("open_window", window="B07"))["ok"]
        while True:   # until the caller's own window holds the ticket: its full view
            called = await caller.command("call_next", window="B07")
            if called["result"]["ticket"]["id"] == issued["result"]["ticket"]["id"]:
                break
        console = watchers["console"]
        await console.command("cancel", ticket=issued["result"]["ticket"]["id"],
                              reason="test")
        for role, w in watchers.items():
            seen[role] = list(await w.drain(1.0))
        # a device that resyncs gets the stored events again, or a snapshot
        for role, device in (("console", "CONSOLE-2"), ("display", "D-HALL")):
            for last_seq in (0, None):
                late = await Recording.hello(url, role, device, last_seq=last_seq)
                seen[role] += await late.drain(1.0)
                await late.close()
        for w in watchers.values():
            await w.close()
        return token, seen

    token, seen = run(scenario())
    for role, frames in seen.items():
        assert frames, role
        assert not [f for f in frames if token in f or "status_token" in f], role
    assert any("ticket_issued" in f for f in seen["console"])   # they did see the issue


def test_a_device_cannot_choose_the_token(hub: HubProcess) -> None:
    chosen = new_token()
    refused = run(command(hub.url, "kiosk", "K-B1", "issue_ticket", queue="quick_b",
                          status_token=chosen))
    assert not refused["ok"] and refused["error"]["code"] == "bad_argument"
    assert refused["error"]["field"] == "status_token"
    assert get(f"http://127.0.0.1:{hub.port}/t/{chosen}")[0] == 404
    schema = json.loads(subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "protocol-schema"],
        capture_output=True, text=True, check=True).stdout)
    assert "status_token" not in schema["commands"]["issue_ticket"]["properties"]


def test_an_appointment_checked_in_gets_its_page_too(hub: HubProcess) -> None:
    hall = load_hall(SAMPLE_HALL)
    booked = run(command(hub.url, "console", "CONSOLE-1", "book_appointment",
                         code="YY-PHONE-1", queue="quick_b",
                         slot_start=hall_time(hall, "09:40"), slot_end=hall_time(hall, "10:00")))
    assert booked["ok"], booked
    checked = run(command(hub.url, "kiosk", "K-B2", "check_in", code="YY-PHONE-1"))
    assert checked["ok"], checked
    status, content, _ = get(local(hub, checked["result"]["status_url"]))
    assert status == 200 and checked["result"]["ticket"]["number"] in content
    assert "YY-PHONE-1" not in content       # no appointment code on a public page


def test_the_page_tells_a_transfer_a_no_show_and_a_cancel(hub: HubProcess) -> None:
    url = hub.url

    def page_of(result: dict) -> dict:
        status, content, _ = get(local(hub, result["status_url"]) + ".json")
        assert status == 200, content
        return json.loads(content)

    moved = run(command(url, "kiosk", "K-B1", "issue_ticket", queue="quick_b"))["result"]
    assert run(command(url, "console", "CONSOLE-1", "transfer", ticket=moved["ticket"]["id"],
                       to_queue="tax"))["ok"]
    data = page_of(moved)
    assert data["state"] == "waiting" and data["transferred"]
    assert data["queue"] == ["税务服务", "Taxation"] and "已转至 税务服务" in data["html"]

    cancelled = run(command(url, "kiosk", "K-B1", "issue_ticket", queue="quick_b"))["result"]
    assert run(command(url, "console", "CONSOLE-1", "cancel",
                       ticket=cancelled["ticket"]["id"], reason="left"))["ok"]
    data = page_of(cancelled)
    assert data["state"] == "cancelled" and data["message"][0] == "此号已取消"
    assert "left" not in json.dumps(data)            # the reason is the console's

    missed = run(command(url, "kiosk", "K-B1", "issue_ticket", queue="quick_b"))["result"]
    assert run(command(url, "caller", "C-B12", "open_window", window="B12"))["ok"]
    assert run(command(url, "caller", "C-B12", "call_ticket", window="B12",
                       ticket=missed["ticket"]["id"]))["ok"]
    assert run(command(url, "caller", "C-B12", "no_show", window="B12"))["ok"]
    data = page_of(missed)
    assert data["state"] == "no_show" and "请到咨询台" in data["message"][0]


# ---------------------------------------------------------------- a day's token


def test_the_token_works_after_a_restart_and_not_the_next_day(db_url: str) -> None:
    first = HubProcess(db_url, extra=QUIET).start()
    try:
        issued = run(command(first.url, "kiosk", "K-B1", "issue_ticket", "restart-1",
                             queue="quick_b"))
        token = issued["result"]["status_token"]
    finally:
        first.kill()
    again = HubProcess(db_url, start_at="2026-11-23 09:45", extra=QUIET).start()
    try:
        status, content, _ = get(f"http://127.0.0.1:{again.port}/t/{token}")
        assert status == 200 and issued["result"]["ticket"]["number"] in content
        retry = run(command(again.url, "kiosk", "K-B1", "issue_ticket", "restart-1",
                            queue="quick_b"))   # its reply was lost: the same ticket, token
        assert retry["result"]["status_token"] == token
        assert retry["result"]["ticket"]["id"] == issued["result"]["ticket"]["id"]
    finally:
        again.kill()
    tomorrow = HubProcess(db_url, start_at="2026-11-24 09:30", extra=QUIET).start()
    try:
        status, content, _ = get(f"http://127.0.0.1:{tomorrow.port}/t/{token}")
        assert status == 404 and "票号不存在" in content
        assert issued["result"]["ticket"]["number"] not in content
    finally:
        tomorrow.kill()


def test_a_token_expires_when_its_business_day_ends() -> None:
    hall = load_hall(SAMPLE_HALL)
    core = Dispatcher(hall)
    token = new_token()
    morning = hall_time(hall, "09:30")
    for event in core.decide(c.IssueTicket("quick_b", status_token=token), morning):
        core.apply(event)
    assert ticket_by_token(hall, core.state, token, morning).number == "B001"
    before_reset = hall_time(hall, "02:59", day="2026-11-24")
    assert ticket_by_token(hall, core.state, token, before_reset) is not None
    after_reset = hall_time(hall, "03:00", day="2026-11-24")
    assert ticket_by_token(hall, core.state, token, after_reset) is None
    for wrong in ("", token[:-1], token + "A", "20261123-B001", "../" + token):
        assert ticket_by_token(hall, core.state, wrong, morning) is None
    with pytest.raises(DispatchError) as twice:     # one token, one ticket
        core.decide(c.IssueTicket("quick_b", status_token=token), morning)
    assert twice.value.code == "bad_argument"


# ---------------------------------------------------------------- bounded


def test_pages_are_rate_limited_per_address_and_live_pages_capped(tmp_path) -> None:
    with HubProcess(f"sqlite:///{tmp_path / 'hall.db'}", extra=QUIET) as hub:
        issued = run(command(hub.url, "kiosk", "K-B1", "issue_ticket", queue="quick_b"))
        token = issued["result"]["status_token"]
        codes = [get(f"http://127.0.0.1:{hub.port}/t/{new_token()}")[0] for _ in range(60)]
        assert codes[:25] == [404] * 25
        limited = codes.index(429)
        assert set(codes[limited:]) <= {404, 429} and codes.count(429) >= 20
        status, _, headers = get(f"http://127.0.0.1:{hub.port}/t/{token}")
        assert status == 429 and headers["Retry-After"] == "5"
        # the hall's devices are not held back by phones
        assert run(command(hub.url, "kiosk", "K-B2", "issue_ticket", queue="quick_b"))["ok"]
        assert '"phone_rate_limited"' in hub.log_text()

    with HubProcess(f"sqlite:///{tmp_path / 'caps.db'}", extra=QUIET) as hub:
        issued = run(command(hub.url, "kiosk", "K-B1", "issue_ticket", queue="quick_b"))
        live = f"ws://127.0.0.1:{hub.port}/t/{issued['result']['status_token']}/live"

        async def open_many() -> tuple[list[dict], str]:
            from websockets.asyncio.client import connect
            from websockets.exceptions import InvalidStatus

            sockets = [await connect(live) for _ in range(8)]
            first = [json.loads(await s.recv()) for s in sockets]
            assert hub.health()["phones"] == 8
            try:
                await connect(live)
                refused = "no"
            except InvalidStatus as exc:
                refused = str(exc.response.status_code)
            for s in sockets:
                await s.close()
            return first, refused

        first, refused = run(open_many())
        assert refused == "503"
        assert all(f["number"] == issued["result"]["ticket"]["number"] for f in first)
        assert run(command(hub.url, "kiosk", "K-B2", "issue_ticket", queue="quick_b"))["ok"]


def test_a_live_ticket_socket_sends_that_ticket_alone(hub: HubProcess) -> None:
    async def scenario() -> list[dict]:
        from websockets.asyncio.client import connect

        kiosk = await RawClient.hello(hub.url, "kiosk", "K-B3")
        mine = await kiosk.command("issue_ticket", queue="quick_b")
        other = await kiosk.command("issue_ticket", queue="quick_b")
        token = mine["result"]["status_token"]
        async with connect(f"ws://127.0.0.1:{hub.port}/t/{token}/live") as ws:
            frames = [json.loads(await ws.recv())]
            await kiosk.command("issue_ticket", queue="quick_b")
            await kiosk.command("cancel", ticket=other["result"]["ticket"]["id"])
            with pytest.raises(TimeoutError):   # nothing changed for this ticket
                while True:
                    frames.append(json.loads(await asyncio.wait_for(ws.recv(), 2.0)))
        await kiosk.close()
        return frames, mine, other

    frames, mine, other = run(scenario())
    assert frames and {f["number"] for f in frames} == {mine["result"]["ticket"]["number"]}
    assert not any(other["result"]["ticket"]["number"] in json.dumps(f) for f in frames)


# ---------------------------------------------------------------- the QR and the hall file


def test_the_printed_qr_opens_the_page_and_never_the_countable_id() -> None:
    hall = load_hall(SAMPLE_HALL)
    template = load_template()
    token = new_token()
    result = {"ticket": {"id": "20261123-B017", "number": "B017", "queue": "quick_b",
                         "issued_at": hall_time(hall, "09:41")},
              "status": {"ahead": 5, "expected_wait_s": 720.0}, "status_token": token}
    slip = slip_from_reply(hall_layout(hall), result, template)
    assert slip.qr_payload == f"https://hall.example/t/{token}"
    assert "B017" not in slip.qr_payload
    no_address = {**hall_layout(hall), "public_url": ""}
    assert slip_from_reply(no_address, result, template).qr_payload == ""
    no_token = {k: v for k, v in result.items() if k != "status_token"}
    assert slip_from_reply(hall_layout(hall), no_token, template).qr_payload == ""


@pytest.mark.parametrize(("url", "reason"), [
    ("hall.example", "is not an address"),
    ("ftp://hall.example", "is not an address"),
    ("https://", "is not an address"),
    ("https://hall.example/?a=1", "is not an address"),
    ("https://hall example", "is not an address"),
    ("https://hall.example:99999", "bad port"),
])
def test_a_bad_public_url_is_one_line_naming_the_key(url: str, reason: str) -> None:
    raw = read_toml(SAMPLE_HALL)
    raw["hall"]["public_url"] = url
    with pytest.raises(HallConfigError) as caught:
        parse_hall_file(raw, "hall.toml")
    assert str(caught.value).startswith("hall.toml: hall.public_url: ")
    assert reason in str(caught.value) and "\n" not in str(caught.value)
    raw["hall"]["public_url"] = "https://hall.example/kaiyang/"
    assert parse_hall_file(raw, "hall.toml").public_url == "https://hall.example/kaiyang"


def test_status_tokens_from_the_pool_are_all_different_across_its_refills() -> None:
    """Tokens come 16 random bytes at a time from a 4 KiB pool of the OS's: a thousand
    (the pool refilled three times) are a thousand different 22-character tokens, and
    their bytes spread over every value as random bytes do."""
    tokens = [new_token() for _ in range(1000)]
    assert len(set(tokens)) == 1000
    assert all(TOKEN_SHAPE.fullmatch(t) for t in tokens)
    raw = b"".join(base64.urlsafe_b64decode(t + "==") for t in tokens)
    assert len(raw) == 16_000 and len(set(raw)) == 256
    assert max(raw.count(bytes([b])) for b in range(256)) < 3 * 16_000 / 256
