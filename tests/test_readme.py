"""README.md tells the truth about the code: its commands run through the real parser,
and its package table lists every package and top-level module of ``cojam``."""

import re
import shlex
from pathlib import Path

import pytest

from cojam.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PACKAGE = ROOT / "src" / "cojam"


def block_commands() -> list[list[str]]:
    """The ``cojam`` command lines of the README's shell blocks, continuations joined."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and Path(words[0]).name == "cojam":
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize("words", block_commands(), ids=" ".join)
def test_every_command_in_the_readme_parses(words: list[str]) -> None:
    build_parser().parse_args(words)  # a renamed option or command exits with an error


def test_every_command_the_readme_mentions_exists(capsys: pytest.CaptureFixture) -> None:
    mentioned = re.findall(r"`cojam ([a-z][a-z-]*(?: [a-z][a-z-]*)?)", README)
    assert mentioned
    for text in mentioned:  # `cojam sessions export ID`: up to the first non-word
        with pytest.raises(SystemExit) as done:
            build_parser().parse_args([*text.split(), "--help"])
        assert done.value.code == 0, text  # an unknown command exits 2
    capsys.readouterr()


def test_the_package_table_lists_every_package_and_module() -> None:
    table = README.split("| package | holds |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"^\| `cojam\.([a-z_]+)` \|", table, re.M))
    present = {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")}
    present |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert listed == present
