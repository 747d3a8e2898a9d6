"""Kill-and-rerun: a real `pli import` SIGKILLed at random moments, then rerun, ends with exactly
the store an uninterrupted run gives (same files by name and content, same index)."""
import os
import random
import signal
import subprocess
import sys
import time

import notmuch2
import pytest

from pli.core.store.layout import Layout

from store_fixtures import make_home, make_maildir, make_mbox, plain_mail

CLI = [sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())"]


def archive(tmp_path, count=240):
    src = tmp_path / "archive"
    make_maildir(src / "md", [plain_mail(i) for i in range(count // 2)])
    make_mbox(src / "old.mbox", [plain_mail(i) for i in range(count // 2, count)]
              + [plain_mail(3)])  # one duplicate of a Maildir message
    return src


def fresh_home(tmp_path, name):
    home = make_home(tmp_path / name)
    # small batches: many commit points for the kills to fall between
    text = home.config.read_text().replace("batch = 500", "batch = 16").replace("workers = 0", "workers = 2")
    home.config.write_text(text)
    return home


def run_import(home, src, kill_after=None):
    proc = subprocess.Popen(CLI + ["--home", str(home.root), "import", "--quiet", str(src)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if kill_after is None:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        return True
    time.sleep(kill_after)
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return finished


def indexed_count(home):
    layout = Layout(home)
    db = notmuch2.Database(str(layout.mail), "ro", config=str(layout.notmuch_config))
    try:
        return db.count_messages("*")
    finally:
        db.close()


def snapshot(home):
    layout = Layout(home)
    files = {}
    for top in (layout.mail, layout.sealed):
        for path in sorted(top.rglob("*")):
            rel = path.relative_to(home.root)
            if path.is_file() and ".notmuch" not in rel.parts:
                files[str(rel)] = path.read_bytes()
    index = {}
    db = notmuch2.Database(str(layout.mail), "ro", config=str(layout.notmuch_config))
    try:
        for msg in db.messages("*"):
            index[msg.messageid] = (
                tuple(sorted(str(t) for t in msg.tags)),
                tuple(sorted((str(k), str(v)) for k, v in msg.properties.items())),
                tuple(sorted(str(p.relative_to(home.root)) for p in msg.filenames())),
            )
    finally:
        db.close()
    return files, index


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_gives_the_clean_store(tmp_path):
    src = archive(tmp_path)
    clean = fresh_home(tmp_path, "clean")
    started = time.monotonic()
    run_import(clean, src)
    clean_seconds = time.monotonic() - started
    expected = snapshot(clean)
    assert len(expected[1]) == 240 and not any(name.split("/")[-2] == "tmp" for name in expected[0])

    rng = random.Random(int(os.environ.get("PLI_CRASH_SEED", "5")))
    kills, partial = 0, 0
    deadline = time.monotonic() + 40
    homes = 0
    while time.monotonic() < deadline and homes < 12:
        homes += 1
        home = fresh_home(tmp_path, f"crashed{homes}")
        for _ in range(rng.randint(1, 4)):
            if run_import(home, src, kill_after=rng.uniform(0.05, clean_seconds * 1.1)):
                break
            kills += 1
            partial += 0 < indexed_count(home) < 240  # killed in the middle, not before or after
        run_import(home, src)
        assert snapshot(home) == expected, f"store differs after kills (home {homes})"
    assert kills >= 5 and partial >= 2, (kills, partial)
