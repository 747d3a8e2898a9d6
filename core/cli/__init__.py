"""The `pli` command line: one module per top-level command, named after it (`pli dir` in dir.py, `pli open`
in open.py), and common.py for what they share.  `import` alone cannot name its module, a keyword: it lives
in imports.py (the plural reads as what the module does; `import_cmd` would be the only name with a suffix).

Each command's module defines `register(subparsers)`, which adds its
subcommand(s) and sets `func=handler` on each; a handler takes the parsed
arguments and returns an exit status.  Errors are `PliError`s: they are printed
as one line and turned into their exit code, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from pli.core.cli.common import new_spelling
from pli.core.errors import PliError, UsageError

#: The top-level commands, in the order `pli --help` lists them.
COMMANDS = [
    "init",
    "import",
    "new",
    "search",
    "show",
    "doctor",
    "demo",
    "dir",
    "audit",
    "keys",
    "pad",
    "seal",
    "open",
    "lab",
    "send",
    "note",
    "gateway",
    "fetch",
    "receipts",
]

#: The commands whose name cannot name a module.
MODULES = {"import": "imports"}

EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in pli, not the user's fault


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's default exits 2 with usage; keep 2, one line
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pli", description="pli: secure health messaging in the terminal.")
    parser.add_argument("--home", help="pli home folder (default: $PLI_HOME or ~/.local/share/pli)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"pli.core.cli.{module_of(name)}").register(sub)
    return parser


def module_of(command: str) -> str:
    """The module of pli.core.cli that holds a top-level command."""
    return MODULES.get(command, command)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(new_spelling(argv))
        if getattr(args, "func", None) is None:
            raise UsageError("no command given (see `pli --help`)")
        return int(args.func(args) or 0)
    except PliError as error:
        print(f"pli: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("pli: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `pli search ... | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # noqa: BLE001 - the last line of defence: no traceback for users
        # The type is safe to show; the message might quote data, so it goes only to
        # the debug log when the user asks for it.
        if os.environ.get("PLI_DEBUG"):
            raise
        print(f"pli: internal error ({type(error).__name__}); rerun with PLI_DEBUG=1 to see details, "
              "and please report it", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
