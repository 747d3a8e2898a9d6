"""The `pli` console command: the TUI with no argument, the core CLI otherwise.

This lives in pli.tui because it is the only place allowed to know both
layers; it imports as little as possible so that start-up stays fast:
Textual and the app are imported only when the TUI opens.

    pli [--home DIR]                 open the TUI on the home
    pli demo [--size N] [DIR]        build a demo home in DIR, then open the TUI on it
    pli demo --no-open [DIR]         only build it (core's `demo` subcommand)
    pli COMMAND ...                  everything else: the core CLI
"""
from __future__ import annotations

import gc
import os
import sys


def tui_home(argv: list[str]) -> tuple[bool, str | None]:
    """Whether argv asks for the TUI (nothing but --home), and the home it names."""
    if not argv:
        return True, None
    if len(argv) == 2 and argv[0] == "--home":
        return True, argv[1]
    if len(argv) == 1 and argv[0].startswith("--home="):
        return True, argv[0].split("=", 1)[1]
    return False, None


#: Why the TUI will not start: one line, exit status 2 (docs/CLI.md).
NO_TERMINAL = ("pli: the TUI needs a terminal, and this run has none (stdin or stdout is not one: cron, "
               "`ssh host pli` without -t, input from /dev/null); use `ssh -t host pli`, or a command such as "
               "`pli new` or `pli search` in scripts (see `pli --help`)")


def has_terminal() -> bool:
    """Both stdin and stdout are terminals: without them Textual reads end-of-file forever, burning a core."""
    return all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout))


def open_tui(home_arg: str | None) -> int:
    if not has_terminal():
        print(NO_TERMINAL, file=sys.stderr)
        return 2
    # Start-up builds a few hundred thousand objects that live as long as pli (modules, classes, the
    # stylesheet, the first page) and next to no garbage: the cyclic collector, which scans them again
    # and again as they come (~0.1 s of CPU before the first frame), waits until the first frame is
    # drawn; the app then freezes what start-up built and resumes it (PliApp.on_ready).
    gc.disable()
    try:
        return _run_tui(home_arg)
    finally:
        gc.enable()


def _run_tui(home_arg: str | None) -> int:
    # start-up: the TUI's modules load only once a terminal is there
    from pli.core.home import Home
    from pli.tui.attachments import sweep_viewed
    from pli.tui.config import DEFAULT_SEARCHES
    from pli.tui.startup import Prefetch
    from pli.tui.paging import FIRST_ROWS

    home = Home.resolve(home_arg)
    prefetch = Prefetch(home, DEFAULT_SEARCHES[0].query, FIRST_ROWS)  # read while Textual imports
    prefetch.start()
    sweep_viewed()   # attachments a killed pli left for a viewer: clear patient data outside the store
    # start-up: Textual loads while the prefetch thread reads the first page
    from pli.tui.app import PliApp

    app = PliApp(home, prefetch=prefetch)
    app.run()
    return 1 if app.startup_error is not None else int(app.return_code or 0)


def run_demo(argv: list[str]) -> int:
    """Build the demo with core's `pli demo`, then open it unless --no-open was given."""
    # start-up: the core CLI loads only for a command
    from pli.core.cli import build_parser, main as cli_main

    status = cli_main(argv)
    if status != 0 or "--no-open" in argv:
        return status
    args = build_parser().parse_args(argv)
    # start-up: the demo's modules load only for `pli demo`
    from pli.core.demo import PASSPHRASE_FILE

    # The demo's passphrase sits in the demo folder (demo data only): compose then needs no prompt.
    os.environ.setdefault("PLI_PASSPHRASE_FILE", str(args.directory.expanduser().resolve() / PASSPHRASE_FILE))
    return open_tui(str(args.directory))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    wants_tui, home = tui_home(argv)
    if wants_tui:
        return open_tui(home)
    if argv[0] == "demo" or (len(argv) > 2 and argv[0] == "--home" and argv[2] == "demo"):
        return run_demo(argv)
    # start-up: the core CLI loads only for a command
    from pli.core.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
