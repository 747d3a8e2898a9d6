"""The `pli` launcher: which argv opens the TUI, and a lean import."""
import subprocess
import sys

from pli.tui.launcher import tui_home


def test_no_argument_or_only_home_opens_the_tui():
    assert tui_home([]) == (True, None)
    assert tui_home(["--home", "/x"]) == (True, "/x")
    assert tui_home(["--home=/x"]) == (True, "/x")
    assert tui_home(["doctor"])[0] is False
    assert tui_home(["--home", "/x", "doctor"])[0] is False


def test_importing_the_launcher_does_not_import_textual():
    code = "import sys, pli.tui.launcher; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- no terminal: cron, `ssh host pli` without -t, stdin from /dev/null --------------------------------

def _pli(tmp_path, **streams):
    """`pli --home DIR` as a real process (the console script's entry point), killed if it outlives 20 s."""
    code = "import sys; from pli.tui.launcher import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "--home", str(tmp_path / "home")], timeout=20,
                          stderr=subprocess.PIPE, **streams)


def test_without_a_terminal_pli_exits_at_once_with_one_line(tmp_path):
    # cron and `ssh host pli`: stdin is /dev/null or a pipe, stdout a pipe; the TUI used to spin forever
    done = _pli(tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("pli: ") and "terminal" in lines[0]
    assert "ssh -t" in lines[0]
    assert done.stdout == b""
    assert not (tmp_path / "home").exists()     # nothing was created on the way out


def test_stdin_from_dev_null_on_a_terminal_still_exits(tmp_path):
    import os
    import pty

    leader, follower = pty.openpty()           # stdout and stderr on a real terminal, stdin not
    try:
        done = subprocess.run([sys.executable, "-c",
                               "import sys; from pli.tui.launcher import main; sys.exit(main())",
                               "--home", str(tmp_path / "home")], timeout=20, stdin=subprocess.DEVNULL,
                              stdout=follower, stderr=subprocess.PIPE)
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    assert "terminal" in done.stderr.decode()
