"""results.json from the suite (baselines on the tiny cache) and the report drawn from it."""

import json

import pytest

from cojam.eval.report import (
    adaptation_notes,
    number,
    recovery,
    sanity_checks,
    write_report,
)
from cojam.eval.suite import EvalConfig, json_ready, run_evaluation

REQUIRED = ("harmony", "chord_entropy", "vendi", "distinct_chords", "adaptation_beats")


@pytest.fixture(scope="module")
def eval_dir(tiny_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    run_evaluation(tiny_cache, out, config=EvalConfig(samples=2, seed=1), progress=False,
                   report=False, log=lambda _: None)
    return out


def test_results_hold_every_system_and_required_metric(eval_dir):
    results = json.loads((eval_dir / "results.json").read_text())
    systems = results["systems"]
    assert list(systems) == ["ground_truth", "random", "rule_causal", "rule_based", "one_chord",
                            "tonic_causal", "every_frame"]
    for name, values in systems.items():
        assert all(key in values for key in REQUIRED), name
        assert set(results["intervals"][name]) >= set(REQUIRED) - {"adaptation_beats"}
    assert results["meta"]["songs"] == 6 and results["meta"]["config"]["samples"] == 2
    assert results["meta"]["rewards"] == {} and results["selfplay"] is None
    assert systems["ground_truth"]["adaptation_beats"] == 0.0
    assert "tritone_beat16" in results["adaptation"]["rule_based"]
    sequences = json.loads((eval_dir / "sequences.json").read_text())
    assert len(sequences["systems"]["random"]) == 2  # one list per pass
    assert len(sequences["systems"]["random"][0]) == len(sequences["song_ids"])


def test_report_files_and_tables(eval_dir):
    path = write_report(eval_dir)
    text = path.read_text()
    for figure in ("harmony_vs_diversity.png", "adaptation.png", "adaptation_by_shift.png",
                   "chord_histograms.png", "chord_pca.png"):
        assert (eval_dir / figure).stat().st_size > 1000
        assert f"]({figure})" in text
    for name in ("ground_truth", "random", "rule_causal", "rule_based", "one_chord",
                 "tonic_causal", "every_frame"):
        assert f"| `{name}` |" in text
    assert "Reward models: none were given." in text
    assert "FAIL" not in text and text.count("PASS") >= 6
    assert "git commit" in text and "seed 1" in text
    assert "perfect-adaptation reference" in text and "| reading |" in text


def test_sanity_checks_catch_a_wrong_ranking():
    systems = {"ground_truth": {"harmony": 0.3}, "random": {"harmony": 0.5}}
    assert [ok for ok, _ in sanity_checks(systems)] == [False, False]
    systems = {"random": {"harmony": 0.3}, "mle": {"harmony": 0.25},
               "teacher": {"harmony": 0.6}}
    checks = sanity_checks(systems, models=["mle", "teacher"])
    assert [ok for ok, _ in checks] == [True, False, True, True]
    assert "`mle` beats random" in checks[1][1]


def test_adaptation_notes_mark_chance_level_and_offline_systems():
    results = {
        "systems": {"random": {"adaptation_harmony_before": 0.30},
                    "mle": {"adaptation_harmony_before": 0.33},
                    "rl": {"adaptation_harmony_before": 0.60},
                    "teacher": {"adaptation_harmony_before": 0.70}},
        "meta": {"systems": {"random": {"type": "baseline"},
                             "mle": {"type": "model", "kind": "online"},
                             "rl": {"type": "model", "kind": "online"},
                             "teacher": {"type": "model", "kind": "teacher"}}},
    }
    notes = adaptation_notes(results)
    assert "chance" in notes["mle"] and "rl" not in notes and "offline" in notes["teacher"]


def test_number_formats():
    assert number(0.61234, (0.6, 0.64)) == "0.612 ± 0.020"
    assert number(None) == "—" and number(2.0, (2.0, 2.0)) == "2.000"
    assert recovery(None) == "never" and recovery(3.0, (1.0, None)) == "3 [1, never]"
    assert json_ready({"a": float("inf"), "b": (1, float("nan"))}) == {"a": None, "b": [1, None]}
