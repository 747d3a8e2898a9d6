"""The trace journal: recording, reading back, refusing content, crash tails, several writers at once."""
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from pli.core.audit import (AuditMisuse, Journal, Step, UnauthorizedSigner, authorize_signer, steps_of,
                            verify)
from pli.core.audit.journal import journal_path
from pli.core.home import Home


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path / "home")


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def test_steps_of_a_message_come_back_in_order_with_their_details(home, key):
    journal = Journal(home, key, actor="dr.martin@pli.test")
    journal.record("sealed", "env-1")
    journal.record("sent", "env-1", queue_id="4XyZ1", server="smtp.pli.test")
    journal.record("sealed", "env-2")
    journal.record("delivered", "env-1", actor="gateway", recipient="dr.bernard@pli.test")

    steps = steps_of(home, "env-1")

    assert [s.step for s in steps] == ["sealed", "sent", "delivered"]
    assert steps[1].details == {"queue_id": "4XyZ1", "server": "smtp.pli.test"}
    assert steps[2].actor == "gateway"
    assert [s.seq for s in steps] == [1, 2, 4]


def test_a_message_is_also_found_by_its_message_id_detail(home, key):
    Journal(home, key).record("fetched", "env-9", mid="<abc@lab.test>")
    assert [s.message for s in steps_of(home, "<abc@lab.test>")] == ["env-9"]


def test_record_many_writes_a_whole_batch_that_verifies(home, key):
    journal = Journal(home, key)
    written = journal.record_many([Step("fetched", f"env-{i}", {"folder": "inbox"}) for i in range(500)])

    assert [e.seq for e in written] == list(range(1, 501))
    assert verify(home).entries == 500


def test_explicit_time_is_recorded_in_utc(home, key):
    when = datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc)
    entry = Journal(home, key).record("read", "env-1", when=when)
    assert entry.time == "2025-03-01T09:30:00.000000Z"


@pytest.mark.parametrize("step, message_id, details", [
    ("opened", "env-1", {}),                                # not a known step
    ("read", "has space", {}),                              # not an id
    ("read", "env-1", {"subject": "K+ 6.8 for Mr Dupont"}),  # content, not an identifier
    ("read", "env-1", {"reason": "line one\nline two"}),    # not one line
    ("read", "env-1", {"reason": "x" * 2000}),              # not short
])
def test_content_and_unknown_steps_are_refused_before_anything_is_written(home, key, step, message_id, details):
    with pytest.raises(AuditMisuse):
        Journal(home, key).record(step, message_id, **details)
    assert not journal_path(home).exists()


def test_only_authorized_keys_may_write(home, key):
    Journal(home, key).record("sealed", "env-1")  # first writer pinned
    stranger = Ed25519PrivateKey.generate()

    with pytest.raises(UnauthorizedSigner):
        Journal(home, stranger).record("sealed", "env-2")

    authorize_signer(home, stranger.public_key(), "gateway")
    Journal(home, stranger).record("sealed", "env-2")
    assert verify(home).signers == {_b64(key), _b64(stranger)}


def test_a_torn_last_line_is_kept_aside_and_the_chain_continues(home, key):
    journal = Journal(home, key)
    journal.record("sealed", "env-1")
    with open(journal_path(home), "ab") as handle:  # a crash in the middle of an append
        handle.write(b'{"actor":"","details":{},"message":"env-2","pr')

    journal.record("sealed", "env-3")

    assert verify(home).entries == 2
    assert [e.message for e in steps_of(home, "env-3")] == ["env-3"]
    torn = list(home.trace.glob("journal.torn.*"))
    assert len(torn) == 1 and torn[0].read_bytes().endswith(b'"pr')


def test_a_batch_cut_before_its_signed_last_entry_is_kept_aside_and_the_chain_continues(home, key):
    """A power loss in the middle of a batch's one write can keep its first lines, complete but unsigned
    (version 2 signs a batch once, on its last entry): never acknowledged, authenticated by no signature,
    they are reported by verify, then set aside by the next writer, which continues after the last signed entry."""
    from pli.core.audit import JournalTampered
    from pli.core.audit import entry as entries

    journal = Journal(home, key)
    journal.record("sealed", "env-1")
    kept = journal_path(home).read_bytes()
    journal.record_many([Step("sealed", f"env-{n}") for n in range(2, 6)])
    batch = journal_path(home).read_bytes()[len(kept):].splitlines(keepends=True)
    cut = b"".join(batch[:3]) + batch[3][:30]          # three whole unsigned lines, the signed fourth torn
    journal_path(home).write_bytes(kept + cut)
    from pli.core.audit.head import write_head
    write_head(home, 1, entries.decode(kept.rstrip(b"\n")).hash, journal.public, entries.now(), key)  # its head lags

    with pytest.raises(JournalTampered, match="cut short"):
        verify(home)
    journal.record("sealed", "env-6")

    assert verify(home).entries == 2
    assert [e.seq for e in steps_of(home, "env-6")] == [2]
    assert steps_of(home, "env-3") == []
    torn = list(home.trace.glob("journal.torn.*"))
    assert len(torn) == 1 and torn[0].read_bytes() == cut


def test_entries_hold_no_key_material(home, key):
    Journal(home, key).record("sent", "env-1", queue_id="Q1")
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    data = journal_path(home).read_bytes()
    assert private not in data and _b64_bytes(private) not in data


WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from pli.core.audit import Journal
    from pli.core.home import Home
    home, key_hex, name, count = sys.argv[1:5]
    journal = Journal(Home(Path(home)), Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key_hex)))
    for i in range(int(count)):
        journal.record("fetched", f"{name}-{i}")
""")


def test_several_processes_appending_at_once_keep_one_valid_chain(home, key):
    Journal(home, key).record("sealed", "first")
    key_hex = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(home.root), key_hex, f"w{n}", "40"],
                                stderr=subprocess.PIPE)
               for n in range(4)]
    for writer in writers:
        _out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err.decode()

    report = verify(home)

    assert report.entries == 1 + 4 * 40
    for n in range(4):
        assert len(steps_of(home, f"w{n}-39")) == 1


def _b64(key):
    from pli.core.audit.signers import public_b64
    return public_b64(key.public_key())


def _b64_bytes(raw):
    import base64
    return base64.b64encode(raw)


# -- a cut journal is never continued: the writer checks the tail against the signed head -------------------

def _six(home, key) -> Journal:
    journal = Journal(home, key, actor="dr.martin@pli.test")
    journal.record_many([Step("sealed", f"env-{n}") for n in range(1, 7)])
    return journal


def _files(home) -> tuple[bytes, bytes]:
    from pli.core.audit.journal import head_path
    return journal_path(home).read_bytes(), head_path(home).read_bytes()


def _refused(journal, home) -> str:
    from pli.core.audit import JournalTampered

    before = _files(home)
    with pytest.raises(JournalTampered) as refused:
        journal.record("read", "env-7")
    assert refused.value.exit_code == 4
    assert _files(home) == before                           # nothing appended, the head not re-signed
    assert not list(home.trace.glob("journal.torn.*"))      # nothing moved aside either
    with pytest.raises(JournalTampered):
        verify(home)                                        # the cut is still there to be found
    return str(refused.value)


def test_whole_entries_cut_from_the_end_are_refused_not_resigned(home, key):
    journal = _six(home, key)
    data = journal_path(home).read_bytes()
    journal_path(home).write_bytes(b"".join(data.splitlines(keepends=True)[:4]))
    said = _refused(journal, home)
    assert "4" in said and "6" in said and "pli audit verify" in said


def test_a_cut_in_the_middle_of_a_line_is_refused_not_taken_for_a_crash(home, key):
    journal = _six(home, key)
    data = journal_path(home).read_bytes()
    journal_path(home).write_bytes(data[:-len(data.splitlines()[-1]) - 60])   # entry 6 gone, 5 cut short
    _refused(journal, home)


def test_a_last_entry_replaced_under_the_same_key_is_refused(home, key):
    from pli.core.audit import entry as entries

    journal = _six(home, key)
    old = [entries.decode(raw) for raw in journal_path(home).read_bytes().splitlines()]
    last = old[-1].entry
    swapped = entries.seal(entries.Entry(last.seq, last.time, "deleted", last.message, last.actor, last.signer,
                                         last.prev, {}), key)
    journal_path(home).write_bytes(b"".join(line.encode() for line in old[:-1]) + swapped.encode())
    _refused(journal, home)


def test_a_deleted_or_forged_head_is_refused(home, key):
    from pli.core.audit.head import head_path, write_head
    from pli.core.audit import entry as entries

    journal = _six(home, key)
    kept = head_path(home).read_bytes()
    head_path(home).unlink()
    _refused_without_head(journal, home)
    last = entries.decode(journal_path(home).read_bytes().splitlines()[-1])
    intruder = Ed25519PrivateKey.generate()
    write_head(home, 6, last.hash, _b64(intruder), last.entry.time, intruder)   # signed, not by a trusted key
    _refused(journal, home)
    head_path(home).write_bytes(kept.replace(b'"seq":6', b'"seq":[6]'))   # edited: its signature fails
    _refused(journal, home)


def _refused_without_head(journal, home):
    from pli.core.audit import JournalTampered

    before = journal_path(home).read_bytes()
    with pytest.raises(JournalTampered, match="head"):
        journal.record("read", "env-7")
    assert journal_path(home).read_bytes() == before


def test_a_head_lagging_after_a_crash_is_continued(home, key):
    """A crash between the journal's fsync and the head's rename leaves an older head: harmless."""
    from pli.core.audit.journal import head_path

    journal = _six(home, key)
    older = head_path(home).read_bytes()
    journal.record_many([Step("sent", "env-1"), Step("sent", "env-2")])
    head_path(home).write_bytes(older)                          # the new head never reached the disk
    journal.record("read", "env-1")
    assert verify(home).entries == 9


def test_an_older_head_put_back_over_a_cut_journal_is_refused(home, key):
    """A head copied earlier (a backup of the home, a look at it last week) is validly signed; put back over a
    journal cut after it, it once passed for a head lagging after a crash, and the cut was continued unseen.
    A crash leaves the head one batch behind at most: anything more is refused."""
    from pli.core.audit.journal import head_path

    journal = Journal(home, key)
    journal.record("sealed", "env-1")
    older = head_path(home).read_bytes()                          # the copy
    ends = []
    for n in range(2, 7):
        journal.record("sealed", f"env-{n}")
        ends.append(journal_path(home).stat().st_size)
    journal_path(home).write_bytes(journal_path(home).read_bytes()[:ends[1]])   # entries 4..6 cut
    head_path(home).write_bytes(older)
    said = _refused(journal, home)
    assert "older head" in said


def test_the_genesis_head_put_back_over_a_journal_of_several_batches_is_refused(home, key):
    from pli.core.audit.journal import head_path

    journal = Journal(home, key)
    journal.check()                                               # an empty trace: its genesis head
    genesis = head_path(home).read_bytes()
    journal.record("sealed", "env-1")
    journal.record("sealed", "env-2")
    head_path(home).write_bytes(genesis)
    _refused(journal, home)


def test_a_head_lagging_after_two_crashes_in_a_row_is_still_continued(home, key, monkeypatch):
    """The writer that continues after a crash first brings the head up to the journal's end, so that a
    second crash (between its append and its head) leaves the head one batch behind again, never two."""
    import pli.core.audit.journal as journal_module
    from pli.core.audit.journal import head_path

    journal = _six(home, key)
    lagging = head_path(home).read_bytes()
    journal.record("sent", "env-1")
    head_path(home).write_bytes(lagging)                          # crash 1: the head of entry 7 never landed
    real_write_head = journal_module.write_head

    def crash_at_8(home_, seq, *args):
        if seq == 8:
            raise KeyboardInterrupt("killed before the head of entry 8 was written")
        real_write_head(home_, seq, *args)

    monkeypatch.setattr(journal_module, "write_head", crash_at_8)
    with pytest.raises(KeyboardInterrupt):
        journal.record("sent", "env-2")                           # crash 2
    monkeypatch.setattr(journal_module, "write_head", real_write_head)
    journal.record("read", "env-1")
    assert verify(home).entries == 9


def test_a_crash_before_the_first_head_is_continued(home, key):
    """The very first batch: the journal written, the killed writer never wrote a head."""
    from pli.core.audit.journal import head_path

    Journal(home, key).record("sealed", "env-0")      # the home's trace starts (its head: written)
    assert head_path(home).exists()
    fresh = Home(home.root.parent / "fresh")
    journal = Journal(fresh, key)
    journal.check()                                   # an empty trace: a genesis head is written first
    assert head_path(fresh).exists()
    journal.record("sealed", "env-1")
    assert verify(fresh).entries == 1


def test_a_writer_after_a_cut_says_security_in_one_line_and_exits_4(tmp_path, capsys, monkeypatch):
    from crypto_fixtures import PASSPHRASE, people
    from pli.core.cli import main
    from pli.core.store import create_store

    alice, bob = people(tmp_path, "alice", "bob")
    create_store(alice.home)
    (tmp_path / "pass").write_text(PASSPHRASE)
    (tmp_path / "pass").chmod(0o600)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(tmp_path / "pass"))
    argv = ["--home", str(alice.home.root), "note", "--queue-only", "bob@pli.test", "Garde ce soir ?"]
    assert main(argv) == 0
    assert main(argv) == 0
    lines = journal_path(alice.home).read_bytes().splitlines(keepends=True)
    journal_path(alice.home).write_bytes(b"".join(lines[:-1]))           # the last step removed
    queued = sorted((alice.home.root / "outbox" / "new").iterdir())
    capsys.readouterr()

    status = main(argv)

    err = capsys.readouterr().err
    assert status == 4
    assert err.count("\n") == 1 and err.startswith("pli: ") and "SECURITY" in err
    assert sorted((alice.home.root / "outbox" / "new").iterdir()) == queued   # nothing sealed, nothing queued
