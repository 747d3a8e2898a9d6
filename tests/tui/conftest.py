"""Fixtures for the TUI tests: one small generated demo home (real envelope, real store), copied per test.

The demo is built once per session with a fixed seed and a fixed "now", so that
snapshots are the same on every machine and every day.
"""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone

import pytest
import textual._wait

from pli.core.home import Home

# Pilot waits twice after each key until the process looks idle, in slices of textual._wait's
# SLEEP_GRANULARITY (20 ms, so 40 ms a key at the least, and typing was most of the TUI tests' time).
# Slices of 5 ms make typing in tests about twice as fast; what counts as idle (under 1 ms of CPU in a
# slice) is unchanged, and a test must wait for what it checks anyway (workers, a result from a thread).
# PLI_TEST_PILOT_TICK=0.02 gives Textual's own pace back.
textual._wait.SLEEP_GRANULARITY = float(os.environ.get("PLI_TEST_PILOT_TICK", "0.005"))

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
