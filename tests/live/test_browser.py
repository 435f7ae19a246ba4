"""End to end in a real browser: the real server with a tiny model, headless Chromium,
a scripted melody played on the computer keyboard; chords must reach the timeline and
the audio graph. Saves a screenshot to test-artifacts/jam-page.png.

Uses the system's Chromium (Debian package ``chromium``), never a browser downloaded by
Playwright; skipped with the reason when there is none.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from cojam.live.server import create_app, websocket_support
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
def server_url(model, tmp_path):
    app = create_app({"tiny": model}, tmp_path / "sessions")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the jam server did not start"
    yield f"http://localhost:{port}/"
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


def test_jam_in_a_browser(server_url, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        page.goto(server_url)
        page.wait_for_function("document.querySelectorAll('#model option').length > 0")
        for control, value in (("#tempo", "150"), ("#count-in", "4"), ("#lookahead", "8"),
                               ("#commit", "2"), ("#temperature", "1")):
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
