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
