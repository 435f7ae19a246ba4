"""Every subcommand answers --help with what it does and every option it takes, each
with its own help text."""

import argparse

import pytest

from cojam.cli.main import build_parser, main


def subcommands(parser: argparse.ArgumentParser, prefix=()):
    """(path, parser) of every subcommand, depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from subcommands(sub, (*prefix, name))


PARSERS = dict(subcommands(build_parser()))


def test_the_commands_the_readme_teaches_are_there():
    assert {("data", "build"), ("data", "stats"), ("train",), ("rl",), ("eval",), ("report",),
            ("generate",), ("jam",), ("pipeline",), ("info",), ("export-midi",),
            ("sessions", "list"), ("sessions", "export")} <= set(PARSERS)


@pytest.mark.parametrize("path", PARSERS, ids=" ".join)
def test_help_names_every_option_and_says_what_each_does(path, capsys):
    with pytest.raises(SystemExit) as info:
        main([*path, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: cojam " + " ".join(path))
    parser = PARSERS[path]
    assert parser.description, "a command says what it does"
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.dest in text and choice.help, (path, choice.dest)
            continue
        assert action.help and action.help != argparse.SUPPRESS, (path, action.dest)
        names = action.option_strings or [action.metavar or action.dest]
        assert all(name in text for name in names), (path, names)
        assert " ".join(action.help.split()[:3]) in " ".join(text.split()), (path, names)


def test_named_runs_read_name_equals_run_and_name_the_flag_at_fault():
    from pathlib import Path

    from cojam.cli.run_flags import named_runs

    assert named_runs(["a=runs/x", "b=runs/y"], "--model") == {"a": Path("runs/x"),
                                                               "b": Path("runs/y")}
    assert list(named_runs(None, "--model")) == ["default"]  # the bundled model
    with pytest.raises(ValueError, match="--learned 'oops': expected NAME=RUN"):
        named_runs(["oops"], "--learned")
