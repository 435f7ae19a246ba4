"""End to end in a real browser: the real server with a tiny model, headless Chromium,
a scripted melody played on the computer keyboard; chords must reach the timeline and
the audio graph. Saves a screenshot to test-artifacts/jam-page.png. Then the ways a
session used to get lost: Stop then Start at once, a dropped socket, and the opening,
where the model must listen before it plays.

Uses the system's Chromium (Debian package ``chromium``), never a browser downloaded by
Playwright; skipped with the reason when there is none.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from cojam.live.server import create_app, serving_in_background, websocket_support
from cojam.live.session_log import read_session

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)"),
    pytest.mark.skipif(websocket_support() is None,
                       reason="uvicorn has no WebSocket library (install websockets)"),
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]
MELODY = ["KeyZ", "KeyC", "KeyB", "KeyC", "KeyV", "KeyN", "Comma", "KeyB", "KeyQ", "KeyE",
          "KeyT", "KeyE"]


@pytest.fixture
def app(model, tmp_path):
    return create_app({"tiny": model}, tmp_path / "sessions")


@pytest.fixture
def server_url(app):
    with serving_in_background(app) as port:
        yield f"http://localhost:{port}/"


def test_jam_in_a_browser(server_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.goto(server_url)
        page.wait_for_function("document.querySelectorAll('#model option').length > 0")
        for control, value in (("#tempo", "150"), ("#count-in", "4"), ("#listen", "2"),
                               ("#lookahead", "8"), ("#commit", "2"), ("#temperature", "1")):
            page.fill(control, value)
        page.click("#start")
        page.wait_for_function("window.cojam.state.running", timeout=10_000)
        page.wait_for_function("window.cojam.state.jam.beat > 3.6", timeout=10_000)
        for code in MELODY:  # quarter notes at 150 BPM, legato-ish
            page.keyboard.down(code)
            page.wait_for_timeout(300)
            page.keyboard.up(code)
            page.wait_for_timeout(100)
        page.wait_for_function(
            """() => {
                const {stats, state} = window.cojam;
                const chords = [...state.jam.committed.values()].filter(c => c.symbol !== "N");
                return stats.chordsScheduled > 0 && chords.length > 2
                    && state.jam.planned.length > 0 && stats.audioNodes > 20;
            }""",
            timeout=10_000,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.keyboard.down("KeyB")  # a note held in the screenshot
        page.wait_for_timeout(200)
        page.screenshot(path=str(ARTIFACTS / "jam-page.png"))
        page.keyboard.up("KeyB")
        stats = page.evaluate("window.cojam.stats")
        assert stats["notesSent"] >= len(MELODY) and stats["ticksSent"] > 20
        assert stats["plans"] >= stats["ticksSent"] - 2 and stats["errors"] == 0
        page.click("#start")  # now Stop
        page.wait_for_function("!window.cojam.state.running")
        href = page.get_attribute("#download", "href")
        midi = page.request.get(server_url.rstrip("/") + href)
        assert midi.ok and midi.body().startswith(b"MThd")
        browser.close()
    assert page_errors == []
    logs = list((tmp_path / "sessions").glob("*.jsonl"))
    assert len(logs) == 1
    events = read_session(logs[0])
    assert sum(e["type"] == "note_on" for e in events) == len(MELODY) + 1


@pytest.fixture
def page(server_url):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server_url)
        page.wait_for_function("document.querySelectorAll('#model option').length > 0")
        yield page
        browser.close()
        assert errors == []


def plans_now(page) -> int:
    return page.evaluate("window.cojam.stats.plans")


def committed(page) -> dict[str, str]:
    return page.evaluate("""Object.fromEntries([...window.cojam.state.jam.committed.values()]
        .map((c) => [c.onset.toFixed(2), c.symbol]))""")


def test_stop_then_start_twenty_times_every_new_session_plays(page, app):
    page.fill("#count-in", "0")
    sessions = []
    for _ in range(20):
        before = plans_now(page)
        page.click("#start")  # Start
        page.wait_for_function("window.cojam.state.running", timeout=10_000)
        page.wait_for_function(f"window.cojam.stats.plans > {before} + 2", timeout=10_000)
        sessions.append(page.evaluate("window.cojam.state.session"))
        page.click("#start")  # Stop, then at once Start again
    page.click("#start")
    page.wait_for_function("window.cojam.state.running", timeout=10_000)
    before = plans_now(page)
    page.wait_for_function(f"window.cojam.stats.plans > {before} + 2", timeout=10_000)
    page.wait_for_timeout(1000)  # the last session is not ended by an old socket's events
    assert page.evaluate("window.cojam.state.running")
    assert page.text_content("#status-text").startswith("jamming")
    assert len(set(sessions)) == 20
    page.click("#start")
    page.wait_for_function("document.getElementById('status-text').textContent"
                           " === 'session saved'", timeout=10_000)
    deadline = time.monotonic() + 10
    while app.state.hub.active and time.monotonic() < deadline:  # every socket closed
        time.sleep(0.05)
    assert app.state.hub.active == 0 and len(app.state.hub.resumable) == 0


def test_a_dropped_socket_is_shown_retried_and_resumed(page, app, tmp_path):
    for control, value in (("#count-in", "2"), ("#listen", "0"), ("#tempo", "160")):
        page.fill(control, value)
    page.click("#start")
    page.wait_for_function("window.cojam.state.running", timeout=10_000)
    page.keyboard.down("KeyZ")
    page.wait_for_function("""[...window.cojam.state.jam.committed.values()]
        .filter((c) => c.symbol !== "N").length > 2""", timeout=20_000)
    before = committed(page)
    session = page.evaluate("window.cojam.state.session")
    page.evaluate("window.cojam.drop()")
    page.wait_for_function("window.cojam.stats.reconnects >= 1", timeout=10_000)
    page.wait_for_function("document.getElementById('status-text').textContent"
                           ".startsWith('resumed')", timeout=20_000)
    plans = plans_now(page)
    page.wait_for_function(f"window.cojam.stats.plans > {plans} + 4", timeout=10_000)
    page.keyboard.up("KeyZ")
    after = committed(page)
    assert all(after[onset] == symbol for onset, symbol in before.items())
    assert page.evaluate("window.cojam.state.session") == session
    page.click("#start")
    page.wait_for_function("document.getElementById('status-text').textContent"
                           " === 'session saved'", timeout=10_000)
    events = read_session(tmp_path / "sessions" / f"{session}.jsonl")
    kinds = [e["type"] for e in events]
    assert kinds.count("dropped") == 1 and kinds.count("resumed") == 1
    assert kinds[-1] == "stopped" and events[-1]["reason"] == "stop"
    logged = {f"{e['onset']:.2f}": e["symbol"] for e in events if e["type"] == "commit"}
    assert all(logged[onset] == symbol for onset, symbol in after.items()
               if onset in logged)


def test_the_opening_is_heard_before_a_chord_is_played(page):
    """A C-major scale: no chord before the first note, nor in the listening beats."""
    for control, value in (("#count-in", "2"), ("#listen", "4"), ("#tempo", "160"),
                           ("#temperature", "1.5")):
        page.fill(control, value)
    page.click("#start")
    page.wait_for_function("window.cojam.state.jam && window.cojam.state.jam.beat > 3",
                           timeout=10_000)
    first = None
    for code in ("KeyZ", "KeyX", "KeyC", "KeyV", "KeyB", "KeyN", "KeyM", "Comma") * 2:
        page.keyboard.down(code)
        first = first if first is not None else page.evaluate(
            "window.cojam.state.jam.melody[0].on")
        page.wait_for_timeout(300)
        page.keyboard.up(code)
    page.wait_for_function(f"window.cojam.state.jam.beat > {first} + 6", timeout=10_000)
    chords = committed(page)
    assert all(symbol == "N" for onset, symbol in chords.items()
               if float(onset) < first + 4 - 0.25)
    assert any(symbol != "N" for symbol in chords.values())
    page.click("#start")


def test_clamped_values_are_shown(page):
    page.fill("#tempo", "999")
    page.fill("#temperature", "5")
    page.click("#start")
    page.wait_for_function("window.cojam.state.running", timeout=10_000)
    assert page.input_value("#tempo") == "240" and page.input_value("#temperature") == "2"
    notice = page.text_content("#notice")
    assert "tempo 999 → 240" in notice and "temperature 5 → 2" in notice
    page.click("#start")


def test_marks_from_the_page_reach_the_log(page, tmp_path):
    """The page's good/bad marks: the = key and the buttons send feedback the log keeps."""
    assert page.is_disabled("#mark-good")  # nothing to mark before the jam
    page.fill("#tempo", "200")
    page.fill("#count-in", "2")
    page.click("#start")
    page.wait_for_function("window.cojam.state.running && window.cojam.state.jam.beat > 1",
                           timeout=10_000)
    page.keyboard.press("Equal")
    page.click("#mark-bad")
    page.wait_for_timeout(300)
    page.click("#start")  # now Stop
    page.wait_for_function("!window.cojam.state.running")
    page.wait_for_timeout(300)
    (log,) = list((tmp_path / "sessions").glob("*.jsonl"))
    marks = [(e["value"], e["beat"]) for e in read_session(log) if e["type"] == "feedback"]
    assert [value for value, _ in marks] == ["good", "bad"]
    assert 1 < marks[0][1] <= marks[1][1]
