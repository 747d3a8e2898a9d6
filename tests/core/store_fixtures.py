"""Generated mail for the store tests: plain messages, Maildirs, mbox files (no real patient data)."""
from __future__ import annotations

from pathlib import Path

import pytest

from pli.core.home import Home
from pli.core.store import create_store


def plain_mail(i: int, *, subject: str | None = None, extra: str = "") -> bytes:
    return (f"From: Lab {i} <lab{i}@example.org>\nTo: dr@example.org\n"
            f"Subject: {subject or f'plain message {i}'}\nMessage-ID: <plain{i}@example.org>\n"
            f"Date: Mon, 1 Jan 2024 10:{i % 60:02d}:00 +0000\n{extra}\nbody {i}\n").encode()


def sealing_pair(tmp_path: Path, sender: str = "lab", recipient: str = "doctor"):
    """Two keyrings that trust each other, a pad between them, a store for the second: by default a lab
    (lab@pli.test) sealing to a doctor (doctor@pli.test)."""
    from crypto_fixtures import people
    from pli.core.crypto.pairing import share_pad

    first, second = people(tmp_path, sender, recipient)
    share_pad(first, [second], 1 << 18)
    create_store(second.home)
    return first, second


@pytest.fixture
def pair(tmp_path):
    """alice (alice@pli.test) sealing to bob, who has a store (sealing_pair); import it into the test module."""
    return sealing_pair(tmp_path, "alice", "bob")


def make_home(tmp_path: Path) -> Home:
    home = Home(tmp_path / "home")
    create_store(home)
    return home


def make_maildir(path: Path, messages: list[bytes]) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(messages):
        (path / "new" / f"{i:06d}.test").write_bytes(raw)
    return path


def make_mbox(path: Path, messages: list[bytes]) -> Path:
    with open(path, "wb") as out:
        for raw in messages:
            out.write(b"From sender@example.org Mon Jan  1 10:00:00 2024\n")
            out.write(raw.replace(b"\nFrom ", b"\n>From "))
            out.write(b"\n" if raw.endswith(b"\n") else b"\n\n")
    return path


def store_files(home: Home) -> dict[str, bytes]:
    """Every file of the store outside the index, by relative path (locks excluded)."""
    found = {}
    for path in sorted(home.root.rglob("*")):
        rel = path.relative_to(home.root)
        if path.is_file() and rel.parts[:2] != ("mail", ".notmuch") and not rel.name.endswith(".lock"):
            found[str(rel)] = path.read_bytes()
    return found


def held(home: Home, sender_mid: str) -> str:
    """The id a receiving store gives the message its sender named `sender_mid` (the store names what it
    receives itself: docs/STORE.md, "Identity"); the sender's id is kept as X-Pli-Original-Message-Id."""
    from pli.core.store import Store
    from pli.core.store.headers import value_of

    with Store.open(home) as store:
        [found] = [row.message_id for row in store.window("*", 0, 10_000)
                   if value_of(store.read_clear(row.message_id), "X-Pli-Original-Message-Id") == f"<{sender_mid}>"]
    return found
