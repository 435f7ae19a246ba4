"""`cojam eval` and `cojam report` end to end, as subprocesses, with tiny real models."""

import json
import subprocess
import sys

from cojam.cli.main import main


def cojam(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "cojam.cli.main", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def test_eval_with_models_rewards_selfplay_and_report(tiny_cache, tiny_runs, tiny_reward,
                                                      tmp_path):
    out = tmp_path / "eval"
    done = cojam("eval", "--data", tiny_cache, "--out", out,
                 "--model", f"mle={tiny_runs['online']}",
                 "--model", f"teacher={tiny_runs['teacher']}",
                 "--melody-agent", tiny_runs["melody"], "--reward", tiny_reward,
                 "--samples", "2", "--limit-songs", "2",
                 "--selfplay-bars", "4", "--threads", "1", "--style", "song", "--quiet")
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["meta"]["config"]["sampling"]["style"] == "song"
    assert set(results["systems"]) == {"ground_truth", "random", "rule_causal", "rule_based",
                                       "one_chord", "tonic_causal", "every_frame", "mle",
                                       "teacher"}
    for values in results["systems"].values():
        assert {"harmony", "chord_entropy", "vendi", "distinct_chords",
                "adaptation_beats", "reward/contrastive"} <= set(values)
    assert results["meta"]["rewards"] == {"contrastive": str(tiny_reward)}
    assert "reward/contrastive" in results["selfplay"]["systems"]["mle"]
    assert results["meta"]["systems"]["teacher"]["kind"] == "teacher"
    assert results["meta"]["songs"] == 2
    assert set(results["selfplay"]["systems"]) == {"mle"}  # the teacher cannot play live
    assert json.loads(done.stdout)["mle"]["harmony"] == results["systems"]["mle"]["harmony"]
    text = (out / "report.md").read_text()
    assert "| `mle` |" in text and "| `teacher` |" in text and "## Self-play" in text
    assert "reward/contrastive" in text and "none were given" not in text
    assert "play in the `song` style" in text

    (out / "report.md").unlink()
    (out / "adaptation.png").unlink()
    redone = cojam("report", out)
    assert redone.returncode == 0, redone.stderr
    assert (out / "report.md").read_text() == text and (out / "adaptation.png").is_file()


def test_eval_errors_are_one_line(tiny_cache, tiny_runs, tmp_path, capsys):
    # in-process: the same entry point without paying for a second interpreter
    code = main(["eval", "--data", str(tiny_cache), "--out", str(tmp_path / "x"), "--model",
                 f"m={tiny_runs['melody']}", "--quiet"])
    assert code == 1 and "melody agent" in capsys.readouterr().err
    code = main(["eval", "--data", str(tiny_cache), "--out", str(tmp_path / "z"),
                 "--melody-agent", str(tiny_runs["online"]), "--quiet"])
    assert code == 1 and "not a melody agent" in capsys.readouterr().err
    assert not (tmp_path / "z" / "results.json").exists()
    assert main(["report", str(tmp_path / "nothing")]) == 1
    assert "no results.json" in capsys.readouterr().err
    code = main(["eval", "--data", str(tmp_path / "no-cache"), "--out", str(tmp_path / "y")])
    assert code == 1 and "vocab.json" in capsys.readouterr().err
    code = main(["eval", "--data", str(tiny_cache), "--out", str(tmp_path / "w"), "--model",
                 f"m={tiny_runs['online']}", "--model", f"m={tiny_runs['teacher']}", "--quiet"])
    assert code == 1 and "same name" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()  # refused before anything is written


def test_seeds_of_one_recipe_pool_into_one_system(tiny_cache, tiny_runs, tmp_path):
    from cojam.eval.suite import EvalConfig, run_evaluation

    config = EvalConfig(samples=2, limit_songs=1, adaptation=False, degenerate=False)
    results = run_evaluation(tiny_cache, tmp_path / "e", {
        "pooled": [tiny_runs["online"], tiny_runs["online"]], "single": tiny_runs["online"],
    }, config=config, progress=False, report=False, log=lambda _: None)
    assert results["systems"]["pooled"] == results["systems"]["single"]  # same run twice
    assert results["meta"]["systems"]["pooled"]["runs"] == [str(tiny_runs["online"])] * 2
