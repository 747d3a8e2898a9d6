"""The `pli` console command: the TUI with no argument, the core CLI otherwise.

This lives in pli.tui because it is the only place allowed to know both
layers; it imports as little as possible so that start-up stays fast.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from pli.core.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
