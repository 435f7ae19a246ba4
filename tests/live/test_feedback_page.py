"""The page's good/bad marks: the = key and the buttons send feedback the log keeps."""

from __future__ import annotations

import shutil

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
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]


def test_marks_from_the_page_reach_the_log(model, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    app = create_app({"tiny": model}, tmp_path)
    with serving_in_background(app) as port, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"http://localhost:{port}/")
        page.wait_for_function("document.querySelectorAll('#model option').length > 0")
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
        browser.close()
    assert errors == []
    (log,) = list(tmp_path.glob("*.jsonl"))
    marks = [(e["value"], e["beat"]) for e in read_session(log) if e["type"] == "feedback"]
    assert [value for value, _ in marks] == ["good", "bad"]
    assert 1 < marks[0][1] <= marks[1][1]
