"""The time budget per input holds in any thread, and leaves nothing behind when a read
ends in time."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from cojam.data.budget import OverTime, time_limit
from cojam.data.cache import build_cache

ABC_OK = 'X:1\nT:ok\nM:4/4\nL:1/4\nK:C\n"C"CDEF|"G"GABc|"F"cBAG|"C"FEDC|]\n'
GIVE_UP_SECONDS = 60.0  # a loop the budget failed to stop ends here, and the test fails


def _spin(seconds: float) -> str:
    """Busy Python work, as a slow parser does; 'finished' when it was not stopped."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sum(range(100))
    return "finished"


def _limited_spin(limit: float, seconds: float) -> str:
    try:
        with time_limit(limit):
            _spin(seconds)
    except OverTime:
        return "over time"
    return "in time"


@pytest.mark.parametrize("where", ["main thread", "worker thread"])
def test_a_read_over_its_seconds_is_stopped(where):
    if where == "main thread":
        assert _limited_spin(0.2, GIVE_UP_SECONDS) == "over time"
    else:
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(_limited_spin, 0.2, GIVE_UP_SECONDS).result() == "over time"


def test_a_read_in_time_leaves_no_exception_for_later_off_the_main_thread():
    def read_then_go_on() -> str:
        outcome = _limited_spin(0.2, 0.0)
        return f"{outcome}, then {_spin(0.5)}"  # past the deadline: nothing may fire

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(read_then_go_on).result() == "in time, then finished"


def test_two_threads_have_their_own_budgets():
    results: dict[str, str] = {}

    def run(name: str, limit: float, seconds: float) -> None:
        results[name] = _limited_spin(limit, seconds)

    threads = [threading.Thread(target=run, args=("slow", 0.2, GIVE_UP_SECONDS)),
               threading.Thread(target=run, args=("quick", 30.0, 0.3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"slow": "over time", "quick": "in time"}


def test_a_cache_built_off_the_main_thread_skips_an_input_over_its_budget(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "ok.abc").write_text(ABC_OK)
    (folder / "repeated.abc").write_text(
        "".join(ABC_OK.replace("X:1", f"X:{i}") for i in range(1, 4001)))
    with ThreadPoolExecutor(1) as pool:
        report = pool.submit(build_cache, "abc", tmp_path / "cache", folder,
                             progress=False, seconds_per_input=1.0).result()
    assert [(s.path.split("/")[-1], s.reason) for s in report.skipped] == [
        ("repeated.abc", "reading took over 1 s, the time budget per input; skipped")]
