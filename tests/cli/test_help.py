"""Every subcommand answers --help with a description."""

import argparse

import pytest

from cojam.cli.main import build_parser, main


def subcommand_paths(parser: argparse.ArgumentParser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from subcommand_paths(sub, (*prefix, name))


PATHS = list(subcommand_paths(build_parser()))


def test_there_are_subcommands():
    assert ("data", "build") in PATHS and ("export-midi",) in PATHS and ("jam",) in PATHS


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_help_exits_zero_and_describes(path, capsys):
    with pytest.raises(SystemExit) as info:
        main([*path, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: cojam " + " ".join(path))
    assert len(text.splitlines()) > 3
