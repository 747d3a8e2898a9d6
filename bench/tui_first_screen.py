"""The official first-screen measure, run in turns for several clients, with CPU time and completeness.

`/work/shared/tools/first_screen.py` times a command in a 160x48 tmux pane until
its screen holds 15 lines and stays the same for 0.15 s.  This runs that same
loop (its `tmux` helper, the same polling and the same rule) for each client in
turn, and adds two columns: the client's CPU time (user + system, all threads,
from /proc) when the screen became stable, which moves far less than wall time
on a loaded machine; and whether pli's screen was complete then (the sidebar's
counts, the inbox's total rather than `…`, the preview's headers): on a loaded
machine a screen can rest 0.15 s before its counts come, and the official rule
then stops early.  `--strict` waits for pli's complete screen.

    python3 bench/tui_first_screen.py STORE --runs 5 --clients pli,alot,bare [--strict]
        [--before PYTHONPATH]   # adds "before": pli with an older checkout first on PYTHONPATH

Clients: pli (.venv/bin/pli --home STORE), pli-cold (the same after removing the saved
counts, as after any change to the index), alot (-r, an empty config, NOTMUCH_CONFIG set
to the store's), bare (a Textual app drawing 46 static lines: the floor).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, "/work/shared/tools")
from first_screen import tmux  # noqa: E402 - the official measure's own tmux helper

ROOT = Path(__file__).resolve().parent.parent
BARE = 'from textual.app import App\nfrom textual.widgets import Static\nclass Bare(App):\n' \
       '    BINDINGS = [("q", "quit", "Quit")]\n    def compose(self):\n' \
       '        yield Static("\\n".join(f"row {i} " + "x" * 100 for i in range(46)))\nBare().run()\n'


def cpu_seconds(pane_pid: int) -> float:
    children = subprocess.run(["pgrep", "-P", str(pane_pid)], capture_output=True, text=True).stdout.split()
    total = 0.0
    for child in children:
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def complete(screen: str) -> bool:
    """pli's screen with its counts, its total and its preview; any other client's as it is."""
    if "Inbox ·" not in screen:
        return True
    first = screen.splitlines()[0]
    return ("Inbox · …" not in screen and "No messages here." not in screen and "From:" in screen
            and any(c.isdigit() for c in first[:18]))


def first_screen(session: str, command: str, strict: bool, min_lines: int = 15) -> tuple:
    """first_screen.py's loop: (seconds, CPU seconds, complete) at the first screen stable for 0.15 s."""
    tmux("kill-session", "-t", session)
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "48", "bash --norc --noprofile")
    time.sleep(0.5)
    pane = int(tmux("display", "-p", "-t", session, "#{pane_pid}", cap=True).decode().strip())
    t0 = time.perf_counter()
    tmux("send-keys", "-t", session, command, "Enter")
    last, since, cpu = None, None, 0.0
    try:
        while time.perf_counter() - t0 < 30:
            screen = tmux("capture-pane", "-p", "-t", session, cap=True).decode(errors="replace")
            full = sum(1 for line in screen.splitlines() if line.strip()) >= min_lines
            if full and (complete(screen) or not strict) and screen == last:
                if time.perf_counter() - since > 0.15:
                    tmux("send-keys", "-t", session, "q")
                    time.sleep(0.3)
                    return since - t0, cpu, complete(screen)
            else:
                since, cpu = time.perf_counter(), cpu_seconds(pane)
            last = screen
            time.sleep(0.01)
        return None, None, None
    finally:
        tmux("kill-session", "-t", session)


def commands(store: Path, before: str | None, scratch: Path) -> dict[str, str]:
    pli = f"{ROOT / '.venv/bin/pli'} --home {store}"
    empty = scratch / "alot-config"
    empty.write_text("")
    bare = scratch / "bare.py"
    bare.write_text(BARE)
    found = {"pli": pli, "pli-cold": f"rm -f {store / 'tui-counts.json'}; {pli}",
             "alot": f"NOTMUCH_CONFIG={store / 'notmuch-config'} alot -r -c {empty} -n "
                     f"{store / 'notmuch-config'} search tag:inbox",
             "bare": f"{ROOT / '.venv/bin/python'} {bare}"}
    if before:
        found["before"] = f"PYTHONPATH={before} {pli}"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", default="pli,alot,bare")
    parser.add_argument("--before", help="a checkout's parent folder to put first on PYTHONPATH (pli as it was)")
    parser.add_argument("--strict", action="store_true", help="wait for pli's complete screen")
    args = parser.parse_args()
    names = args.clients.split(",") + (["before"] if args.before else [])
    results: dict[str, list] = {name: [] for name in names}
    loads = []
    with tempfile.TemporaryDirectory() as scratch:
        run = commands(args.store.resolve(), args.before, Path(scratch))
        for turn in range(args.runs):
            for name in names:
                loads.append(os.getloadavg()[0])
                results[name].append(first_screen(f"fs-{name}", run[name], args.strict))
                print(turn + 1, name, results[name][-1], f"load {loads[-1]:.2f}", file=sys.stderr)
    print(f"load average {min(loads):.2f}-{max(loads):.2f}; medians of {args.runs}"
          f"{' (strict: until pli is complete)' if args.strict else ''}\n")
    print("| client | runs (s) | median (s) | CPU median (s) | complete |\n| --- | --- | ---: | ---: | ---: |")
    for name, runs in results.items():
        done = [r for r in runs if r[0] is not None]
        walls = ", ".join(f"{r[0]:.3f}" for r in done)
        print(f"| {name} | {walls} | {statistics.median(r[0] for r in done):.3f} | "
              f"{statistics.median(r[1] for r in done):.2f} | {sum(bool(r[2]) for r in done)}/{len(runs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
