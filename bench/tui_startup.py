"""Time to first screen, page-down and search redraw, and peak memory: pli's TUI against alot, in tmux.

Both clients run on the same store (pli's Maildir + notmuch index; alot reads it
through the home's notmuch-config) in a detached 120x40 tmux session, driven the
same way: launch, then poll `tmux capture-pane` until the first message row is
on screen (and read the client's CPU time then: on a loaded machine it moves
far less than wall time); press PageDown 12 times, each time polling until the
screen changes (pli's 200-row pages: the 6th crosses into the second page, a
new window read from notmuch); search.  Memory: the client's VmRSS after the
page-downs and its VmHWM (peak) before it quits: compare the 100,000 and the
1,000,000 rows to see whether it grows with the store.

    .venv/bin/python bench/tui_startup.py /var/tmp/pli-100k /var/tmp/pli-1m [--runs 5] [--clients pli,alot]

`--clients pli,pli-threads,alot` adds pli's thread list: pli started the same way, then `V` pressed
once its first screen is up (the "toggle" column: until the first thread rows are drawn), and the
page-downs and the search timed in thread mode.

Build a large home first: `.venv/bin/python bench/tui_store.py /var/tmp/pli-100k --count 100000`
(or `pli demo --size 100000 --no-open DIR`, hours longer: it seals and imports for real).
pli's modules are byte-compiled first, as pip and Debian do at install time (alot's are),
so that neither client pays for compiling its sources.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SESSION = "pli-bench"
POLL = 0.003
PAGE_DOWNS = 12
TIMEOUT = 60.0

# pli: the list's title and a message row (severity mark, verification mark, date): the count in
# the title may follow a moment later (it is counted while the first screen is drawn)
PLI_ROW = re.compile(r"Inbox · (?:[\d,]+|…) messages(?s:.*)[‼! ][✓✗] \S")
PLI_THREAD_ROW = re.compile(r"Inbox · (?:[\d,]+|…) messages by thread(?s:.*)[‼! ][✓✗] \S")
ALOT_ROW = re.compile(r"\(\d+\)|\[\d+/\d+\]")           # a thread line: "[1/1]" message counts


@dataclass
class Client:
    name: str
    command: list[str]
    first_row: re.Pattern
    page_down: str
    search_keys: list[str]   # the prompt key, its marker on screen, then the query
    search_done: str     # text on screen once the search result is drawn
    env: dict
    mode_key: str = ""                 # pressed once the first screen is up (pli's V: the thread list)
    mode_row: re.Pattern | None = None  # what shows once that mode is drawn


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(predicate, timeout: float = TIMEOUT) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        text = screen()
        if predicate(text):
            return time.perf_counter() - start
        time.sleep(POLL)
    raise TimeoutError(f"screen never matched; last screen:\n{screen()}")


def pane_pid() -> str:
    return tmux("display-message", "-p", "-t", SESSION, "#{pane_pid}").strip()


def cpu_seconds() -> float:
    """User + system CPU time the client has used so far (all its threads): unlike wall time,
    it hardly moves when other jobs load the machine."""
    try:
        fields = Path(f"/proc/{pane_pid()}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kib(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of the client, from /proc."""
    pid = pane_pid()
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(field + r":\s+(\d+) kB", status)
    return int(match.group(1)) if match else 0


def wait_row_count_changes(before: str, timeout: float = 10.0) -> float:
    return wait_for(lambda text: text != before, timeout)


def run_once(client: Client, env: dict) -> dict:
    tmux("kill-session", "-t", SESSION)
    command = " ".join(client.command)
    start = time.perf_counter()
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40",
                    "env", *[f"{k}={v}" for k, v in env.items()], "sh", "-c", f"exec {command}"], check=True)
    wait_for(lambda text: bool(client.first_row.search(text)))
    first = time.perf_counter() - start
    first_cpu = cpu_seconds()
    time.sleep(0.5)  # let deferred work (counts) finish so the next timings measure one redraw
    toggle = None
    if client.mode_key:
        started = time.perf_counter()
        tmux("send-keys", "-t", SESSION, client.mode_key)
        wait_for(lambda text: bool(client.mode_row.search(text)))
        toggle = time.perf_counter() - started
        time.sleep(0.5)
    pages = []
    for _ in range(PAGE_DOWNS):  # past pli's first 200-row page (a new window read from notmuch)
        before = screen()
        tmux("send-keys", "-t", SESSION, client.page_down)
        pages.append(wait_row_count_changes(before))
        time.sleep(0.05)
    time.sleep(0.3)
    paged_memory = memory_kib("VmRSS")
    prompt_key, prompt_shown, query = client.search_keys
    tmux("send-keys", "-t", SESSION, prompt_key)
    wait_for(lambda text: prompt_shown in text, 10.0)
    tmux("send-keys", "-t", SESSION, "-l", query)
    time.sleep(0.2)  # the query is typed; the search starts at Enter
    start = time.perf_counter()
    tmux("send-keys", "-t", SESSION, "Enter")
    search = wait_for(lambda text: client.search_done in text, 20.0)
    time.sleep(0.3)
    memory = memory_kib("VmHWM")
    tmux("kill-session", "-t", SESSION)
    return {"first": first, "first_cpu": first_cpu, "page": statistics.median(pages), "page_max": max(pages),
            "search": search, "paged_memory": paged_memory, "memory": memory, "toggle": toggle or 0.0}


def clients(home: Path, scratch: Path) -> list[Client]:
    script = Path(sys.executable).with_name("pli")
    pli = str(script) if script.exists() else f"{sys.executable} -m pli.tui.launcher"
    alot_config = scratch / "alot-config"
    alot_config.write_text("")  # alot's defaults, nothing from the user's own config
    return [
        Client("pli", [pli, "--home", str(home)], PLI_ROW, "PageDown",
               ["/", "search: critical", "critical"], "Search: critical",
               {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}),  # an uninstalled checkout
        Client("pli-threads", [pli, "--home", str(home)], PLI_ROW, "PageDown",
               ["/", "search: critical", "critical"], "Search: critical",
               {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}, "V", PLI_THREAD_ROW),
        # alot opens the database without passing -n on some paths: NOTMUCH_CONFIG covers them
        Client("alot", ["alot", "-r", "-c", str(alot_config), "-n", str(home / "notmuch-config"),
                        "search", "tag:inbox"], ALOT_ROW, "PageDown",
               ["o", ":search", "tag:critical"], 'for "tag:critical"', {"NOTMUCH_CONFIG": str(home / "notmuch-config")}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("homes", type=Path, nargs="+", help="stores to measure (e.g. the 100,000 and 1,000,000 ones)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", default="pli,alot", help="which clients to run (comma-separated)")
    args = parser.parse_args()
    if not shutil.which("tmux"):
        print("tmux is needed", file=sys.stderr)
        return 1
    env = {"TERM": "xterm-256color", "HOME": os.environ.get("HOME", "/root")}
    env.update({k: os.environ[k] for k in ("PATH",) if k in os.environ})
    print(f"{args.runs} runs per client and store, medians; page-down: median and slowest of "
          f"{PAGE_DOWNS} in a row from the top\n")
    print("| messages | client | first screen (s) | its CPU time (s) | page-down (ms) | slowest page-down (ms) "
          "| search redraw (ms) | RSS after paging (MiB) | peak RSS (MiB) | toggle (ms) |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    compile_pli()
    wanted = args.clients.split(",")
    with tempfile.TemporaryDirectory(prefix="pli-bench-") as scratch:
        for home in args.homes:
            count = int(subprocess.run(["notmuch", "--config", str(home / "notmuch-config"), "count", "*"],
                                       capture_output=True, text=True, check=True).stdout.strip())
            for client in [c for c in clients(home, Path(scratch)) if c.name in wanted]:
                runs = [run_once(client, {**env, **client.env}) for _ in range(args.runs)]
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                toggle = f"{med['toggle'] * 1000:.0f}" if client.mode_key else "-"
                print(f"| {count:,} | {client.name} | {med['first']:.3f} | {med['first_cpu']:.2f} | "
                      f"{med['page'] * 1000:.0f} | {med['page_max'] * 1000:.0f} | {med['search'] * 1000:.0f} | "
                      f"{med['paged_memory'] / 1024:.0f} | {med['memory'] / 1024:.0f} | {toggle} |", flush=True)
    return 0


def compile_pli() -> None:
    """Byte-compile pli's sources (an editable checkout run with PYTHONDONTWRITEBYTECODE=1 never
    writes its .pyc files, and would compile every module at every launch)."""
    import compileall

    import pli.core
    import pli.tui

    for package in (pli.core, pli.tui):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


if __name__ == "__main__":
    sys.exit(main())
