"""The trade-off figure's reader (``benchmarks/folk_tradeoff.py``) takes its numbers from
the evaluation reports as ``cojam eval`` renders them: checked against the shipped
model's own ``results.json`` beside its reports."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "docs" / "results" / "bach-cpu-small"


def tradeoff_module():
    spec = importlib.util.spec_from_file_location(
        "folk_tradeoff", ROOT / "benchmarks" / "folk_tradeoff.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_report_reader_agrees_with_the_results_it_rendered():
    module = tradeoff_module()
    entry = module.run_entry(SHIPPED / "eval" / "report.md", SHIPPED / "eval-essen" / "report.md")
    bach = json.loads((SHIPPED / "eval" / "results.json").read_text())["systems"]
    folk = json.loads((SHIPPED / "eval-essen" / "results.json").read_text())["systems"]
    assert entry["seeds"] == 3
    assert entry["gapt_bach_nic"] == pytest.approx(bach["gapt"]["harmony"], abs=5e-4)
    assert entry["gapt_vendi"] == pytest.approx(bach["gapt"]["vendi"], abs=5e-3)
    assert entry["rl_coherence_vendi"] == pytest.approx(bach["rl_coherence"]["vendi"], abs=5e-3)
    assert entry["mle_vendi"] == pytest.approx(bach["mle"]["vendi"], abs=5e-3)
    assert entry["gapt_folk_nic"] == pytest.approx(folk["gapt"]["harmony"], abs=5e-4)
    assert entry["one_chord_folk_nic"] == pytest.approx(folk["one_chord"]["harmony"], abs=5e-4)
    lost = bach["mle"]["vendi"] - bach["rl_coherence"]["vendi"]
    kept = bach["gapt"]["vendi"] - bach["rl_coherence"]["vendi"]
    assert entry["vendi_recovered"] == pytest.approx(kept / lost, abs=2e-3)


def test_a_report_not_sampled_at_temperature_one_is_refused(tmp_path):
    module = tradeoff_module()
    text = (SHIPPED / "eval" / "report.md").read_text()
    report = tmp_path / "report.md"
    report.write_text(text.replace("sampling temperature 1.0", "sampling temperature 0.6"))
    with pytest.raises(ValueError, match="temperature 1"):
        module.report_rows(report)
