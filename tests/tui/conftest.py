"""Fixtures for the TUI tests: one small generated demo home (real envelope, real store), copied per test.

The demo is built once per session with a fixed seed and a fixed "now", so that
snapshots are the same on every machine and every day.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from pli.core.home import Home

FIXED_NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
DEMO_SIZE = 120
DEMO_SEED = 7


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory):
    from pli.core.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo-src") / "home", size=DEMO_SIZE, seed=DEMO_SEED,
                      now=FIXED_NOW)


@pytest.fixture
def demo(demo_source, tmp_path, monkeypatch):
    """A private copy of the demo home (tests tag and send), with its passphrase file exported."""
    root = tmp_path / "home"
    shutil.copytree(demo_source.home.root, root, symlinks=True)
    passphrase_file = root / demo_source.passphrase_file.relative_to(demo_source.home.root)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(passphrase_file))
    return Home(root)


@pytest.fixture
def make_app():
    from pli.tui.app import PliApp

    def make(home: Home) -> PliApp:
        return PliApp(home, now=FIXED_NOW)

    return make
