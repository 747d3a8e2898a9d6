"""The home folder: a relative --home works from any command, the TUI included."""
import os
import subprocess
import sys

from pathlib import Path

from pli.core.home import Home

PLI = str(Path(sys.executable).parent / "pli")


def test_a_relative_home_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    home = Home.resolve("practice")
    assert home.root == tmp_path / "practice"
    assert Home("~/x").root.is_absolute()


def test_search_on_a_store_named_by_a_relative_path(tmp_path):
    """libnotmuch refuses a relative database path: `pli --home demo-home search` must still work."""
    env = dict(os.environ, PLI_INSECURE_TEST_KDF="1")
    run = lambda *args: subprocess.run([PLI, "--home", "h", *args],  # noqa: E731
                                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    created = run("init", "--name", "Dr Test", "--address", "test@pli.example")
    assert created.returncode == 0, created.stderr
    found = run("search", "tag:inbox")
    assert found.returncode == 0, found.stderr
    assert "absolute" not in found.stderr
