"""The `pli` launcher: which argv opens the TUI, a lean import, the collector held during start-up."""
import gc
import subprocess
import sys

import pytest

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


# -- the cyclic collector during start-up ---------------------------------------------------------------

def test_the_launcher_holds_the_collector_for_start_up_and_gives_it_back_even_on_failure(monkeypatch):
    from pli.tui import launcher

    seen = []

    def failing_tui(home_arg):
        seen.append(gc.isenabled())
        raise RuntimeError("the TUI failed")

    monkeypatch.setattr(launcher, "has_terminal", lambda: True)
    monkeypatch.setattr(launcher, "_run_tui", failing_tui)
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        launcher.open_tui(None)
    assert seen == [False]      # held while the TUI started
    assert gc.isenabled()       # and given back


@pytest.mark.asyncio
async def test_the_first_frame_resumes_a_held_collector_and_freezes_what_start_up_built(demo):
    """Held (as the launcher holds it): resumed once the app is ready, with start-up's objects frozen.
    Not held (tests, an embedding): the app leaves the collector alone and freezes nothing."""
    from pli.tui.app import PliApp

    frozen = gc.get_freeze_count()
    async with PliApp(demo).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
    assert gc.isenabled() and gc.get_freeze_count() == frozen

    gc.disable()
    try:
        async with PliApp(demo).run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert gc.isenabled()
            assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.enable()
