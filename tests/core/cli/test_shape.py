"""The CLI reads as one tool (issue 15, point 6): one module per top-level command, named after it, and every
command with actions says so when none is given."""
from __future__ import annotations

import argparse
import importlib
import subprocess
from pathlib import Path

import pytest

import pli.core.cli as cli
from pli.core.cli import COMMANDS, build_parser, module_of

from transport_fixtures import PLI

CLI_DIR = Path(cli.__file__).parent


def top_level(parser: argparse.ArgumentParser) -> list[str]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(sub.choices)


def test_each_command_module_registers_exactly_its_own_command():
    for command in COMMANDS:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"pli.core.cli.{module_of(command)}").register(sub)
        assert top_level(parser) == [command], f"core/cli/{module_of(command)}.py registers {top_level(parser)}"


def test_the_modules_are_the_commands_and_the_shared_helpers():
    modules = {p.stem for p in CLI_DIR.glob("*.py")} - {"__init__", "common"}
    assert modules == {module_of(c) for c in COMMANDS}
    assert set(top_level(build_parser())) == set(COMMANDS)
    # `import` is a keyword, the one name a module cannot take: its module is named in one place
    assert {c: module_of(c) for c in COMMANDS if module_of(c) != c} == {"import": "imports"}


def run_pli(tmp_path, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([*PLI, "--home", str(tmp_path / "home"), *args], input=stdin, capture_output=True,
                          timeout=60)


@pytest.mark.parametrize("command, actions", [
    ("keys", "init, show"), ("pad", "new, import, status"), ("lab", "show, export, generate"),
    ("audit", "show, verify, authorize"), ("receipts", "show, answer"), ("gateway", "serve"),
    ("dir", "trust, import, search"), ("dir authority", "init"),
])
def test_a_command_given_no_action_names_its_actions_on_stderr(tmp_path, command, actions):
    done = run_pli(tmp_path, *command.split())
    assert done.returncode == 2 and done.stdout == b""
    [line] = done.stderr.decode().splitlines()
    assert line.startswith(f"pli: pli {command} needs an action: {actions}") and f"`pli {command} --help`" in line


#: Commands that change something and say so in a line (or run a server): nothing a script would keep in a file.
#: Every other command prints a report or writes files, and takes -o/--output.
WITHOUT_OUTPUT = {
    "audit authorize", "demo", "dir authority init", "dir bind", "dir group", "dir import", "dir import-rpps",
    "dir revoke", "dir trust", "gateway serve", "init", "keys group-import", "keys group-new", "keys import-public",
    "keys init", "pad import", "send password",
}


def test_every_command_that_reports_or_writes_files_takes_o():
    from test_docs import commands

    lacking = {path for path, parser in commands(build_parser()).items()
               if "--output" not in {o for a in parser._actions for o in a.option_strings}}
    assert lacking == WITHOUT_OUTPUT
    for path, parser in commands(build_parser()).items():
        [output] = [a for a in parser._actions if "--output" in a.option_strings] or [None]
        assert output is None or output.option_strings == ["-o", "--output"], path
