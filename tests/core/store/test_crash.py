"""Kill-and-rerun: a real `pli import` SIGKILLed at random moments, then rerun, ends with exactly
the store an uninterrupted run gives (same files by name and content, same index, the same trace steps)."""
import collections
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import notmuch2
import pytest

from pli.core.audit.entry import decode
from pli.core.audit.journal import read_lines
from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.mime import extract_envelope, outer_mail
from pli.core.crypto.pairing import share_pad
from pli.core.home import Home
from pli.core.lab.generator import generate
from pli.core.store import create_store
from pli.core.store.layout import Layout

from crypto_fixtures import PASSPHRASE, people
from store_fixtures import make_maildir, make_mbox, plain_mail

CLI = [sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())"]


SEALED, PLAIN = 200, 40
TOTAL = SEALED + PLAIN


def archive(tmp_path):
    """Bob's keyring home (no store yet) and an archive for him: sealed lab mail (a Maildir and an
    mbox, one message in both), plain mail, and one tampered message."""
    alice, bob = people(tmp_path / "keys", "alice", "bob")
    share_pad(alice, [bob], 1 << 20)
    sealed = [seal_mail(g.inner_bytes, alice, ["bob@pli.test"]) for g in generate(SEALED, seed=11)]
    src = tmp_path / "archive"
    make_maildir(src / "md", sealed[:120] + [plain_mail(i) for i in range(PLAIN // 2)])
    make_mbox(src / "old.mbox", sealed[120:] + [sealed[5]] + [plain_mail(i) for i in range(PLAIN // 2, PLAIN - 1)])
    envelope = bytearray(extract_envelope(sealed[7]))
    envelope[len(envelope) // 2] ^= 1
    (src / "tampered.eml").write_bytes(outer_mail(bytes(envelope), "Dr Alice", "alice@pli.test",
                                                  ["bob@pli.test"], 0, "cd" * 16))
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    return bob.home, src, secret


def fresh_home(tmp_path, name, keys):
    root = tmp_path / name
    shutil.copytree(keys.root, root)
    home = make_home_at(root)
    # small batches: many commit points for the kills to fall between
    text = re.sub(r"batch = \d+", "batch = 16", home.config.read_text()).replace("workers = 0", "workers = 2")
    home.config.write_text(text)
    return home


def make_home_at(root):
    home = Home(root)
    create_store(home)
    return home


def run_import(home, src, secret, kill_after=None):
    proc = subprocess.Popen(CLI + ["--home", str(home.root), "import", "--quiet", str(src)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PLI_PASSPHRASE_FILE": str(secret)})
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
    return files, index, import_steps(home)


def import_steps(home):
    """The import's trace steps, counted: each stored message's once, whatever the kills."""
    steps = collections.Counter()
    for _number, raw in read_lines(home):
        entry = decode(raw).entry
        if entry.step in ("opened-verified", "quarantined"):
            steps[entry.step, entry.message, entry.details.get("mid")] += 1
    return steps


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_gives_the_clean_store(tmp_path):
    keys, src, secret = archive(tmp_path)
    clean = fresh_home(tmp_path, "clean", keys)
    started = time.monotonic()
    run_import(clean, src, secret)
    clean_seconds = time.monotonic() - started
    expected = snapshot(clean)
    tags = [t for t, _, _ in expected[1].values()]
    assert len(expected[1]) == TOTAL  # sealed[5] twice is one message; plus the tampered copy
    assert sum("verified" in t for t in tags) == SEALED and sum("unsealed" in t for t in tags) == PLAIN - 1
    assert sum("quarantine" in t and "sealed" in t for t in tags) == 1
    assert not any(name.split("/")[-2] == "tmp" for name in expected[0])
    assert sum(expected[2].values()) == TOTAL and set(expected[2].values()) == {1}

    rng = random.Random(int(os.environ.get("PLI_CRASH_SEED", "5")))
    kills, partial = 0, 0
    # Stop once enough kills landed mid-import rather than after a fixed time: on a
    # loaded machine a time budget alone can end the loop before the kills we need.
    deadline = time.monotonic() + 120
    homes = 0
    while homes < 30 and time.monotonic() < deadline and (homes < 6 or kills < 5 or partial < 2):
        homes += 1
        home = fresh_home(tmp_path, f"crashed{homes}", keys)
        for _ in range(rng.randint(1, 4)):
            if run_import(home, src, secret, kill_after=rng.uniform(0.05, clean_seconds * 1.1)):
                break
            kills += 1
            partial += 0 < indexed_count(home) < TOTAL  # killed in the middle, not before or after
        run_import(home, src, secret)
        assert snapshot(home) == expected, f"store differs after kills (home {homes})"
    assert kills >= 5 and partial >= 2, (kills, partial)
