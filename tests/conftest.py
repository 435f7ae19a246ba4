"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def one_thread():
    """One intra-op torch thread for the test, as the server and the learners run: faster
    for tiny models, and deterministic; the count is restored after. Folders whose every
    test wants it request it from an autouse fixture of their conftest."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def kill_then_rerun() -> Callable[[list[str], Path], tuple[subprocess.CompletedProcess, int]]:
    """``run(command, run_dir)``: start a training command, SIGKILL it as soon as it has
    written ``run_dir/state.safetensors``, check it had not finished, run the same command
    again to the end; returns (the rerun, the step it says it resumed from)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}

    def run(command: list[str], run_dir: Path) -> tuple[subprocess.CompletedProcess, int]:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + 60
        while not (run_dir / "state.safetensors").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert not (run_dir / "summary.json").exists(), "the run finished before it was killed"
        rerun = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        return rerun, int(rerun.stdout.split("resumed from step ")[1].split()[0])

    return run
