"""The CLI reads as one tool (issue 15, point 6): one module per top-level command, named after it, and every
command with actions says so when none is given."""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import pli.core.cli as cli
from pli.core.cli import COMMANDS, build_parser, module_of

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
