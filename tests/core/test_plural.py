"""Counts in words: the noun agrees with the number; the CLI and the TUI never print "(s)"."""
import ast
from pathlib import Path

from pli.core.plural import counted, plural_of

ROOT = Path(__file__).resolve().parents[2]


def test_the_noun_agrees_with_the_count():
    assert counted(1, "message") == "1 message"
    assert counted(0, "message") == "0 messages"
    assert counted(1200, "entry") == "1,200 entries"
    assert counted(2, "address") == "2 addresses"
    assert counted(2, "key") == "2 keys" and counted(2, "day") == "2 days"
    assert counted(3, "new message") == "3 new messages"
    assert counted(2, "message without a lab report", "messages without a lab report") == \
        "2 messages without a lab report"
    assert counted(1, "try", "tries") == "1 try" and plural_of("try") == "tries"


def test_no_user_facing_string_says_s_in_parentheses():
    """Every string literal of core/ and tui/ but docstrings (f-strings included): "(s)" is a count that did
    not decide."""
    found = []
    for path in [*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("tui").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and "(s)" in node.value \
                    and id(node) not in docstrings:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.strip()[:60]}")
    assert found == []
