"""Offline KL-control from logs: the pessimistic backup, the guard, a real learning run on
simulated and on hand-played (person-like) logs, and the CLI."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
from fastapi.testclient import TestClient

from cojam.cli.main import main
from cojam.learn.offline import (
    LearnConfig,
    TooFewSessions,
    discounted_returns,
    learn_from_sessions,
    learned_values_vs_returns,
    load_logged_rows,
)
from cojam.learn.signals import SignalWeights
from cojam.learn.simulated_musician import JamRequest, Preference, simulate_sessions
from cojam.live.server import create_app
from cojam.models.checkpoint import load_model, save_run
from cojam.rl.kl_control import bellman_targets

QUIET = {"log": lambda _: None}


@pytest.fixture(scope="module")
def logs(tmp_path_factory, accompanist, melody_agent):
    """Three simulated sessions and one a 'person' played note by note over the socket."""
    directory = tmp_path_factory.mktemp("sessions")
    patient = Preference(frozenset({"maj", "min"}), patience=1e9)
    simulate_sessions({"tiny": accompanist}, melody_agent, directory,
                      [JamRequest(seed=s, model="tiny", beats=10, preference=patient)
                       for s in range(3)], **QUIET)
    app = create_app({"tiny": accompanist}, directory, host_names=("testserver",))
    with TestClient(app) as client, client.websocket_connect("/ws") as socket:
        socket.send_json({"v": 1, "type": "start", "lookahead": 4, "commit": 2,
                          "count_in": 2, "listen": 1, "seed": 9})
        socket.receive_json()
        for step in range(8, 64):  # ticks every sixteenth, as the page does
            beat = step / 4
            if step % 2 == 0:
                socket.send_json({"v": 1, "type": "note_on", "pitch": 60 + step % 7,
                                  "beat": beat})
            socket.send_json({"v": 1, "type": "tick", "beat": beat})
            socket.receive_json()
        socket.send_json({"v": 1, "type": "feedback", "value": "good", "beat": 15.0})
        socket.send_json({"v": 1, "type": "stop"})
        socket.receive_json()
    return directory


@pytest.fixture(scope="module")
def model_run(tmp_path_factory, accompanist):
    path = tmp_path_factory.mktemp("runs") / "tiny"
    save_run(path, accompanist)
    return path


def test_the_pessimistic_backup_takes_the_least_dropout_sample():
    next_values = torch.tensor([[[1.0, 3.0]], [[2.0, 0.5]]])  # (S=2, B=1, V=2)
    log_prior = torch.log(torch.tensor([[0.5, 0.5]]))
    zero, done = torch.zeros(1), torch.zeros(1, dtype=torch.bool)
    psi = bellman_targets("psi", zero, zero, next_values, log_prior, done, 1.0, 1.0)
    assert psi.item() == pytest.approx(min(torch.logsumexp(v[0], 0).item()
                                           for v in next_values))
    naive = bellman_targets("naive", torch.ones(1), torch.tensor([-5.0]), next_values[0],
                            log_prior, done, 1.0, 2.0)
    assert naive.item() == pytest.approx(0.5 + 3.0)  # r / c + max, no prior anywhere


def test_returns_are_discounted_to_each_rows_end():
    reward = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    done = torch.tensor([[False, True, False, True]])
    assert discounted_returns(reward, done, 0.5).tolist() == [[1.5, 1.0, 1.0, 0.0]]


def test_logged_rows_hold_every_session_with_chords(logs, accompanist):
    rows = load_logged_rows(logs, accompanist.spec, 32, SignalWeights())
    assert len(set(rows.sessions)) == 4 and not rows.skipped
    assert rows.melody.shape == rows.chords.shape == rows.reward.shape
    assert rows.melody.shape[1] == 32 and len(rows.melody) > 4  # long jams cut in windows
    assert rows.done.sum() == len(rows.melody) and rows.played.any(dim=1).all()
    assert rows.reward.abs().sum() > 0


def test_too_few_sessions_are_refused_with_the_reason(logs, model_run, tmp_path, capsys,
                                                      monkeypatch):
    with pytest.raises(TooFewSessions, match="4 usable session.*at least 20"):
        learn_from_sessions(LearnConfig(steps=1), logs, model_run, tmp_path / "out", **QUIET)
    monkeypatch.setenv("COJAM_HOME", str(tmp_path))  # cojam jam's folder by default
    (tmp_path / "sessions").mkdir()
    for log in sorted(logs.glob("2*.jsonl"))[:2]:
        shutil.copy(log, tmp_path / "sessions")
    assert main(["learn", "--model", str(model_run), "--out", str(tmp_path / "out")]) == 1
    assert "2 usable session(s), learning needs at least 20" in capsys.readouterr().err


@pytest.mark.parametrize("method,samples", [("naive", 0), ("psi", 0), ("psi", 3)])
def test_learning_writes_a_playable_accompanist(logs, model_run, tmp_path, method, samples):
    config = LearnConfig(method=method, mc_samples=samples, steps=4, batch_size=4,
                         min_sessions=4, log_every=2)
    summary = learn_from_sessions(config, logs, model_run, tmp_path / "out", **QUIET)
    assert summary["sessions"] == 4 and summary["steps"] == 4
    assert {"values/logged_chords", "returns/logged"} <= set(summary)
    learned = load_model(tmp_path / "out")
    assert learned.own_stream == "chord" and not learned.training
    changed = any(not torch.equal(a, b) for a, b in zip(
        learned.parameters(), load_model(model_run).parameters(), strict=True))
    assert changed
    metrics = [json.loads(line) for line in (tmp_path / "out/metrics.jsonl").open()]
    assert [m["step"] for m in metrics] == [2, 4]
    some = set(load_logged_rows(logs, learned.spec, 128, SignalWeights()).sessions[:2])
    check = learned_values_vs_returns(tmp_path / "out", logs, some)
    assert set(check) == {"values/logged_chords", "returns/logged"}
    assert all(math.isfinite(v) for v in check.values())


def test_cli_learns(logs, model_run, tmp_path, capsys):
    assert main(["learn", "--sessions", str(logs), "--model", str(model_run),
                 "--out", str(tmp_path / "out"), "--steps", "2", "--min-sessions", "4",
                 "--method", "g", "--mc-samples", "2", "--mark-delay", "0"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["method"] == "g"
    learned = json.loads((tmp_path / "out/config.json").read_text())["learn"]
    assert learned["signals"]["mark_delay_beats"] == 0.0 and learned["mc_samples"] == 2
