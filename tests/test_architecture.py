"""The import graph of pli, built with ast from the sources: one-way layers, no cycle, no import hidden in a function.

docs/ARCHITECTURE.md draws the picture these tests hold the code to:

    native, base  <-  crypto  <-  directory  <-  store, transport, lab, audit, receipts, xdm  <-  mail  <-  cli, tui

A module may import its own package, and any package of a lower layer; packages
of one layer may import each other as long as no cycle forms.  An import inside
a function is allowed only for start-up speed, and says so in a comment ("start-up")
on its line or just above it, or when it is optional (inside a `try` that catches
ImportError or any Exception: the native backend); anything else is a cycle or an upward import in hiding.
"""
from __future__ import annotations

import ast
import io
import tokenize
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"pli.core": ROOT / "core", "pli.tui": ROOT / "tui", "pli.native": ROOT / "native"}

#: The layers, lowest first: (name, the packages and modules it holds).  A name ending in "." is a package.
LAYERS = [
    ("native", ["pli.native."]),
    # What every layer may use: errors, atomic files, the home's paths, the config file, plurals, safe XML,
    # MIME scanning, the GC pause of bulk loads, and the one vocabulary of tags and names.
    ("base", ["pli.core", "pli.core.errors", "pli.core.durable", "pli.core.home", "pli.core.config",
              "pli.core.plural", "pli.core.safe_xml", "pli.core.mimescan", "pli.core.gc_pause", "pli.core.vocab"]),
    ("crypto", ["pli.core.crypto."]),
    ("directory", ["pli.core.directory."]),
    ("domain", ["pli.core.store.", "pli.core.transport.", "pli.core.lab.", "pli.core.audit.",
                "pli.core.receipts.", "pli.core.xdm."]),
    ("mail", ["pli.core.mail.", "pli.core.checkup", "pli.core.demo"]),
    ("ui", ["pli.core.cli.", "pli.tui."]),
]

@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    in_function: bool
    type_checking: bool
    commented: bool      # a comment on its line or just above it says it is there for start-up
    optional: bool = False   # inside a `try` whose handler catches ImportError


def module_name(prefix: str, folder: Path, path: Path) -> str:
    parts = list(path.relative_to(folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([prefix, *parts])


def source_files() -> dict[str, Path]:
    return {module_name(prefix, folder, path): path
            for prefix, folder in FOLDERS.items() for path in sorted(folder.rglob("*.py"))}


MODULES = source_files()


def nearest_module(name: str) -> str:
    """The module an imported name lives in (`from pli.core.store import Store` -> pli.core.store)."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def start_up_comments(source: str) -> dict[int, str]:
    return {token.start[0]: token.string for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type == tokenize.COMMENT}


class _Collector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, comments: dict[int, str]) -> None:
        self.module, self.is_package, self.comments = module, is_package, comments
        self.depth = self.type_checking = self.optional = 0
        self.found: list[Import] = []

    def visit_FunctionDef(self, node) -> None:
        self.depth += 1
        self._body_imports(node.body, node.lineno + 1)
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def _body_imports(self, body: list, start: int) -> None:
        """Mark the imports of a function body whose block (consecutive imports and the comments above
        them) mentions start-up."""
        block_start = start
        for statement in body:
            if not isinstance(statement, (ast.Import, ast.ImportFrom)):
                block_start = statement.end_lineno + 1
                # a block's comments start after what precedes it: the header (`try:`), or the block before
                previous_end = statement.lineno
                for field in ("body", "handlers", "orelse", "finalbody"):
                    for inner in self._blocks(statement, field):
                        self._body_imports(inner, previous_end)
                        previous_end = inner[-1].end_lineno + 1
                continue
            lines = range(block_start, statement.end_lineno + 1)
            statement.start_up = any("start-up" in self.comments.get(n, "").lower() for n in lines)

    @staticmethod
    def _blocks(statement, field: str) -> list[list]:
        inner = getattr(statement, field, None)
        if not inner or not isinstance(inner, list):
            return []
        if field == "handlers":
            return [handler.body for handler in inner]
        return [inner] if isinstance(inner[0], ast.stmt) else []

    def visit_Try(self, node: ast.Try) -> None:
        optional = any(handler.type is None or {"ImportError", "ModuleNotFoundError", "Exception"} & set(
            ast.unparse(handler.type).replace("(", " ").replace(")", " ").replace(",", " ").split())
            for handler in node.handlers)
        self.optional += optional
        for child in node.body:
            self.visit(child)
        self.optional -= optional
        for child in [*node.handlers, *node.orelse, *node.finalbody]:
            self.visit(child)

    def visit_If(self, node: ast.If) -> None:
        guarded = "TYPE_CHECKING" in ast.unparse(node.test)
        self.type_checking += guarded
        for child in node.body:
            self.visit(child)
        self.type_checking -= guarded
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module if self.is_package else self.module.rsplit(".", 1)[0]
            package = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
            base = f"{package}.{base}" if base else package
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            self._add(candidate if candidate in MODULES else base, node)

    def _add(self, name: str, node) -> None:
        if name == "pli" or name.startswith("pli."):
            self.found.append(Import(self.module, nearest_module(name), node.lineno, self.depth > 0,
                                     self.type_checking > 0, getattr(node, "start_up", False), self.optional > 0))


def collect_imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        source = path.read_text()
        collector = _Collector(module, path.name == "__init__.py", start_up_comments(source))
        collector.visit(ast.parse(source))
        found += collector.found
    return found


IMPORTS = collect_imports()


def layer_of(module: str) -> int:
    """The rank of the layer holding `module` (the most specific entry wins); ValueError when none does."""
    best = None
    for rank, (_name, members) in enumerate(LAYERS):
        for member in members:
            if module == member.rstrip(".") or (member.endswith(".") and module.startswith(member)):
                if best is None or len(member) > best[1]:
                    best = (rank, len(member))
    if best is None:
        raise ValueError(module)
    return best[0]


def package_of(module: str) -> str:
    """What the package graph's cycles are counted between: pli.core's subpackages and top-level modules,
    pli.tui, pli.native."""
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[1] == "core" else ".".join(parts[:2])


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def runtime_edges(key) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in IMPORTS:
        a, b = key(imp.importer), key(imp.imported)
        if a != b and not imp.type_checking:
            edges[a].add(b)
    return edges


def listed(found, what: str) -> str:
    return f"{what}:\n" + "\n".join(map(str, sorted(found, key=str)))


def test_every_module_has_a_place_in_the_layers():
    unplaced = []
    for module in MODULES:
        try:
            layer_of(module)
        except ValueError:
            unplaced.append(module)
    assert not unplaced, f"place these modules in LAYERS: {unplaced}"


def test_imports_go_down_the_layers_only():
    upward = {(imp.importer, imp.imported) for imp in IMPORTS if layer_of(imp.imported) > layer_of(imp.importer)}
    assert not upward, listed(upward, "imports against the layers")


def test_native_imports_nothing_of_pli_and_core_nothing_of_the_tui():
    assert not [imp for imp in IMPORTS if imp.importer.startswith("pli.native") and
                not imp.imported.startswith("pli.native")]
    assert not [imp for imp in IMPORTS if imp.importer.startswith("pli.core") and imp.imported.startswith("pli.tui")]


def test_no_cycle_between_packages():
    found = cycles(runtime_edges(package_of))
    assert not found, listed(found, "cycles between packages")


def test_no_cycle_between_modules():
    found = cycles(runtime_edges(lambda module: module))
    assert not found, listed(found, "cycles between modules")


def test_an_import_inside_a_function_says_it_is_there_for_start_up():
    hidden = {(imp.importer, imp.imported) for imp in IMPORTS
              if imp.in_function and not imp.commented and not imp.optional}
    assert not hidden, listed(hidden, "imports inside functions without a start-up comment")


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    # start-up: only when asked\n    from pli.core import vocab\n", True),
    ("def f():\n    from pli.core import vocab  # start-up\n", True),
    ("def f():\n    # start-up: the first two\n    import pli.core.home\n    from pli.core import vocab\n", True),
    ("def f():\n    x = 1\n    from pli.core import vocab\n", False),
    ("# start-up\ndef f():\n    y = 2\n    from pli.core import vocab\n", False),
    ("def f():\n    try:\n        # start-up: only when asked\n        from pli.core import vocab\n"
     "    except ImportError:\n        pass\n", True),
    ("def f():\n    if x:\n        y = 1\n    else:\n        # start-up\n        from pli.core import vocab\n", True),
    ("def f():\n    if x:\n        y = 1\n        from pli.core import vocab\n", False),
])
def test_the_start_up_comment_is_read_where_it_stands(source, expected):
    found = collected(source)
    assert [imp.commented for imp in found] == [expected] * len(found)
    assert found and all(imp.in_function for imp in found)


@pytest.mark.parametrize("source, expected", [
    ("def f():\n    try:\n        from pli.core import vocab\n    except ImportError:\n        pass\n", True),
    ("def f():\n    try:\n        from pli.core import vocab\n    except (OSError, ModuleNotFoundError):\n"
     "        pass\n", True),
    ("def f():\n    try:\n        from pli.core import vocab\n    except OSError:\n        pass\n", False),
    ("def f():\n    try:\n        x = 1\n    except ImportError:\n        from pli.core import vocab\n", False),
])
def test_an_import_that_may_fail_is_optional(source, expected):
    assert [imp.optional for imp in collected(source)] == [expected]


def collected(source: str) -> list[Import]:
    """The imports the collector finds in `source`, as if it were a module pli.core.x."""
    collector = _Collector("pli.core.x", False, start_up_comments(source))
    collector.visit(ast.parse(source))
    return collector.found


def test_the_graph_sees_a_cycle_and_a_layer_breach():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]
    assert layer_of("pli.core.crypto.keyring") < layer_of("pli.core.directory.recipients")
    assert layer_of("pli.core.errors") < layer_of("pli.core.crypto.envelope") < layer_of("pli.tui.app")
