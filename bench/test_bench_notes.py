"""What opening a conversation costs, for a short and a long history: it reads one page, whatever the history.

    .venv/bin/python -m pytest bench/test_bench_notes.py --benchmark-only
    PLI_BENCH_NOTES=300 .venv/bin/python -m pytest bench/test_bench_notes.py --benchmark-only   # smoke

The home is the demo's (real keys, real store) with PLI_BENCH_NOTES (default
3,000) more notes sealed by the colleague and imported for real, and as many
lab results. Opening a conversation is what the screen does before its first
frame: count the conversation's query, read the newest page (note_log.PAGE
notes) and each note's clear file; sealing a note is what Enter does (seal,
sign, queue in the outbox, index the clear copy in Sent, trace "sealed").
"""
import os
import shutil
from datetime import datetime, timedelta, timezone

import pytest

from pli.core.mail import conversation, send
from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.keyring import Keyring
from pli.core.demo import DEMO_PASSPHRASE, build_demo
from pli.core.home import Home
from pli.core.mail.receive import receive
from pli.core.store.store import Store
from pli.tui.widgets.note_log import PAGE

HISTORY = int(os.environ.get("PLI_BENCH_NOTES", "3000"))
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
COLLEAGUE = "hugo.bernard@cabinet-demo.example"
ME = "claire.martin@cabinet-demo.example"
SHORT = "secretariat@cabinet-tilleuls.example"     # the conversation with a few notes


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    built = build_demo(tmp_path_factory.mktemp("bench-notes") / "home", size=HISTORY, seed=11, now=NOW)
    home = built.home
    colleague = Keyring.unlock(Home(home.root / "peers" / "colleague"), DEMO_PASSPHRASE)
    incoming = home.root / "incoming" / "new"
    for n in range(HISTORY):
        when = NOW - timedelta(minutes=7 * n)
        inner = send.build_note(f"Dr Hugo Bernard <{COLLEAGUE}>", ME, f"Note {n}: patient en salle {n % 9}", when)
        (incoming / f"note-{n:06d}.eml").write_bytes(
            seal_mail(inner, colleague, [ME], mode="stream", now=int(when.timestamp())))
    me = Keyring.unlock(home, DEMO_PASSPHRASE)
    receive(home, None, keyring=me)
    for n in range(3):
        send.send_note(home, me, SHORT, f"Salle {n} libre ?", NOW + timedelta(minutes=n))
    return home


def open_page(store: Store, address: str) -> list:
    query = conversation.conversation_query(address)
    store.count(query)
    return [conversation.note_of(s, store.read_clear(s.message_id)) for s in store.window(query, 0, PAGE)]


@pytest.mark.parametrize("address", [SHORT, COLLEAGUE], ids=["3-notes", "long-history"])
def test_open_conversation(benchmark, home, address):
    with Store.open(home) as store:
        page = benchmark(open_page, store, address)
    assert len(page) == min(PAGE, 3 if address == SHORT else HISTORY + 6)


def test_seal_and_queue_a_note(benchmark, home, tmp_path):
    copy = Home(tmp_path / "home")
    shutil.copytree(home.root, copy.root, symlinks=True)
    keyring = Keyring.unlock(copy, DEMO_PASSPHRASE)
    count = iter(range(1_000_000))
    benchmark(lambda: send.send_note(copy, keyring, COLLEAGUE, f"Je passe à 14 h ({next(count)})", NOW))
