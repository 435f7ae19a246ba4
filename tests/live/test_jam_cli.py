"""``cojam jam``: refuses to start without a model or on a public address by accident."""

from __future__ import annotations

import pytest

from cojam.cli.main import main
from cojam.live import model_choice
from cojam.live.host_check import is_loopback


@pytest.fixture
def no_bundled_model(monkeypatch, tmp_path):
    monkeypatch.setattr(model_choice, "bundled_model_dir", lambda: tmp_path / "absent")


def test_no_model_says_how_to_pass_one(no_bundled_model, capsys):
    assert main(["jam", "--no-browser"]) == 1
    error = capsys.readouterr().err
    assert "no model is bundled yet" in error and "--model RUN" in error


def test_a_run_that_is_not_one(no_bundled_model, tmp_path, capsys):
    assert main(["jam", "--no-browser", "--model", str(tmp_path)]) == 1
    assert "not a run directory" in capsys.readouterr().err


def test_public_address_needs_a_flag(capsys):
    assert main(["jam", "--host", "0.0.0.0", "--no-browser"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("::1", True),
                                           ("localhost", True), ("0.0.0.0", False),
                                           ("192.168.1.5", False), ("example.org", False)])
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_models_load_from_runs_and_default_resolves(no_bundled_model, run_dir):
    models = model_choice.load_models([run_dir, run_dir])
    assert list(models) == ["tiny", "tiny-2"]
    assert model_choice.choose(models, "default")[0] == "tiny"
    with pytest.raises(model_choice.ModelChoiceError, match="offers: tiny, tiny-2"):
        model_choice.choose(models, "nope")


@pytest.mark.parametrize(("flags", "batched"), [([], True), (["--no-batching"], False)])
def test_sessions_share_model_passes_unless_told_not_to(monkeypatch, tmp_path, flags, batched):
    from cojam.live import server

    served = {}
    monkeypatch.setattr(server, "serve", lambda app, *args: served.update(app=app))
    assert main(["jam", "--no-browser", "--sessions-dir", str(tmp_path), *flags]) == 0
    assert (served["app"].state.hub.batcher is not None) == batched
