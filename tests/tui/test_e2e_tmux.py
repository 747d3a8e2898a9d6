"""End to end: the real `pli` command builds a demo, then runs in tmux and is driven by keys."""
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.tmux,   # `make test-fast` leaves these out: each starts pli in a terminal
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

# The installed console script when there is one (make test installs it), else the same entry point.
_SCRIPT = Path(sys.executable).with_name("pli")
PLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "pli.tui.launcher"]
PASS_ON = ("PYTHONPATH", "PATH", "HOME", "PLI_CRYPTO_BACKEND")


def environment(extra: dict) -> list[str]:
    """VAR=value words for `env`: tmux sessions start from the tmux server's environment, not ours."""
    passed = {k: os.environ[k] for k in PASS_ON if k in os.environ}
    return [f"{k}={v}" for k, v in {**passed, **extra}.items()]


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False)


def wait_screen(session, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = tmux("capture-pane", "-p", "-t", session).stdout
        if predicate(text):
            return text
        time.sleep(0.1)
    raise AssertionError(f"screen did not show what was expected:\n{text}")


def start(session, *command):
    """tmux new-session, retried: a tmux server still shutting down (its last session just ended,
    as when the previous test's pli quit) refuses or drops a new session now and then."""
    for _ in range(50):
        tmux("new-session", "-d", "-s", session, *command)
        if tmux("has-session", "-t", session).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"tmux could not start session {session}")


def start_on_a_demo(tmp_path, session) -> None:
    """The real `pli demo` builds a small demo home; pli then runs on it in a 120x40 tmux session."""
    home = tmp_path / "demo"
    built = subprocess.run([*PLI, "demo", "--no-open", "--size", "60", str(home)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    env = {"TERM": "xterm-256color", "PLI_PASSPHRASE_FILE": str(home / "demo-passphrase.txt")}
    start(session, "-x", "120", "-y", "40", "env", *environment(env), *PLI, "--home", str(home))


@pytest.fixture
def session(tmp_path):
    name = f"pli-e2e-{os.getpid()}-{tmp_path.name}"
    yield name
    tmux("kill-session", "-t", name)


def test_pli_demo_then_triage_in_tmux(tmp_path, session):
    start_on_a_demo(tmp_path, session)
    # the key bar is drawn once the bindings are live: keys sent before could go to the shell
    # the count may follow the first rows by a moment (the title shows "…" until then)
    screen = wait_screen(session, lambda t: re.search(r"Inbox · [\d,]+ messages", t) and "Archive" in t)
    total = int(screen.split("Inbox · ")[1].split(" messages")[0].replace(",", ""))
    assert total > 0
    time.sleep(0.5)  # keys typed before the terminal is in application mode are the shell's, not pli's
    tmux("send-keys", "-t", session, "a")
    wait_screen(session, lambda t: f"Inbox · {total - 1:,} messages" in t)
    tmux("send-keys", "-t", session, "u")
    wait_screen(session, lambda t: f"Inbox · {total:,} messages" in t)
    tmux("send-keys", "-t", session, "/")
    # Type only once the search bar has focus: keys sent earlier go to the list (a slow
    # start, e.g. on the pure-Python backend, lost the first letters).
    wait_screen(session, lambda t: "search: critical, abnormal" in t)
    tmux("send-keys", "-t", session, "critical", "Enter")
    wait_screen(session, lambda t: "Search: critical" in t and "‼" in t)
    tmux("send-keys", "-t", session, "q")
    wait_screen(session, lambda t: "Inbox ·" not in t, timeout=10)


def test_pli_on_a_missing_home_says_so_and_quits(tmp_path, session):
    start(session, "-x", "80", "-y", "24",
          "env", *environment({"TERM": "xterm-256color"}), *PLI, "--home", str(tmp_path / "none"))
    wait_screen(session, lambda t: "no store at" in t)
    tmux("send-keys", "-t", session, "q")
    wait_screen(session, lambda t: "no store at" not in t, timeout=10)


def test_a_prompt_a_search_and_compose_typed_as_one_string_arrive_whole(tmp_path, session):
    """tmux send-keys writes the whole string at once, as a fast typist or a paste over SSH (issue 14.5)."""
    start_on_a_demo(tmp_path, session)
    wait_screen(session, lambda t: re.search(r"Inbox · [\d,]+ messages", t) and "Archive" in t)
    time.sleep(0.5)  # keys typed before the terminal is in application mode are the shell's, not pli's
    tmux("send-keys", "-t", session, "turgent lab-call", "Enter")
    wait_screen(session, lambda t: "tagged 1 message urgent lab-call" in t)
    tmux("send-keys", "-t", session, "/critical and tag:inbox", "Enter")
    wait_screen(session, lambda t: "Search: critical and tag:inbox ·" in t and "‼" in t)
    tmux("send-keys", "-t", session, "cresultats@labo-estuaire.example", "Tab", "Essai", "Tab", "Bonjour")
    screen = wait_screen(session, lambda t: "Bonjour" in t and "one-time pad" in t)
    lines = [line.strip("▊▎ ") for line in screen.splitlines()]
    assert "resultats@labo-estuaire.example" in lines and "Essai" in lines and "Bonjour" in lines
    tmux("send-keys", "-t", session, "Escape")
    wait_screen(session, lambda t: "This message" in t and "is not sent" in t)
    tmux("send-keys", "-t", session, "d")
    wait_screen(session, lambda t: "Search: critical and tag:inbox ·" in t)
    tmux("send-keys", "-t", session, "q")
    wait_screen(session, lambda t: "Inbox ·" not in t, timeout=10)
