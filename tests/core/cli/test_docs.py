"""docs/CLI.md against the code: every command of the argparse tree (and each of its options) is documented,
and the exit-code table holds every code pli can exit with, and no other."""
from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pli.core
from pli.core.cli import build_parser
from pli.core.errors import PliError

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every command a user can type, "send", "dir bind"..., with its parser (leaves of the tree)."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix} {name}".strip()
                below = commands(sub, path)
                found.update(below or {path: sub})
    return found


def bullets(doc: str) -> list[str]:
    """The doc's list items, each with its indented continuation lines."""
    items, current = [], None
    for line in doc.splitlines():
        if line.startswith("- "):
            current = [line]
            items.append(current)
        elif current is not None and (line.startswith("  ") or not line.strip()):
            current.append(line)
        else:
            current = None
    return ["\n".join(item) for item in items]


def mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def test_the_command_tree_is_what_the_doc_describes():
    tree = commands(build_parser())
    assert {"send message", "send list", "note show", "dir bind", "keys group-export-public", "doctor",
            "gateway serve"} <= set(tree)
    items = bullets(DOC)
    missing, undocumented = [], []
    for path, parser in sorted(tree.items()):
        about = [item for item in items if f"`pli {path}" in item]
        if not about:
            missing.append(path)
            continue
        text = "\n".join(about)
        for action in parser._actions:
            names = [o for o in action.option_strings if o not in ("-h", "--help")]
            if names and not any(mentions(text, name) for name in names):
                undocumented.append(f"pli {path} {names[-1]}")
    assert missing == [], f"commands docs/CLI.md does not describe (a `- \\`pli COMMAND` item): {missing}"
    assert undocumented == [], f"options not in their command's items of docs/CLI.md: {undocumented}"


def exit_codes_in_code() -> set[int]:
    """What pli can exit with: every PliError's exit_code, and the integers the command handlers return."""
    for module in pkgutil.walk_packages(pli.core.__path__, "pli.core."):
        importlib.import_module(module.name)
    codes, todo = set(), [PliError]
    while todo:
        cls = todo.pop()
        codes.add(cls.exit_code)
        todo += cls.__subclasses__()
    sources = [*ROOT.joinpath("core", "cli").glob("*.py"), ROOT / "tui" / "launcher.py"]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Return) and node.value is not None:
                codes |= {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)
                          and type(c.value) is int}
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id.startswith("EXIT_")
                                                     for t in node.targets):
                codes.add(node.value.value)
    return codes


def test_every_exit_code_is_in_the_table_and_the_table_holds_nothing_else():
    table = {int(code) for code in re.findall(r"^\| (\d+) \|", DOC, re.M)}
    used = exit_codes_in_code()
    assert {0, 1, 2, 3, 75, 130} <= used
    assert sorted(used - table) == [], "exit codes the code uses that docs/CLI.md's table lacks"
    assert sorted(table - used) == [], "exit codes in docs/CLI.md's table that nothing uses"
