"""The import's pending trace steps: what a crash between the index commit and the journal left is written once."""
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pli.core.audit import Journal, Step, steps_of, verify
from pli.core.audit.journal import journal_path
from pli.core.home import Home
from pli.core.store.pending_trace import PendingTraceDamaged, pending_files, recover, write_pending


@pytest.fixture
def home(tmp_path):
    return Home(tmp_path / "home")


@pytest.fixture
def journal(home):
    return Journal(home, Ed25519PrivateKey.generate(), actor="claire@pli.test")


def step(n: int) -> Step:
    return Step("opened-verified", f"env-{n}", {"mid": f"m{n}@pli.test", "sender": "lab@pli.test", "mode": "otp"})


def size(home) -> int:
    path = journal_path(home)
    return path.stat().st_size if path.exists() else 0


def test_recovery_writes_the_steps_of_indexed_messages_the_journal_lacks_and_only_those(home, journal, tmp_path):
    folder = tmp_path / "pending"
    journal.record("sealed", "env-0")                       # an older entry, before the batch
    first = [step(1), step(2), step(3)]
    write_pending(folder, 1, first, ["m1@pli.test", "m2@pli.test", "m3@pli.test"], size(home))
    journal.record_many([step(1)])                          # the crash came after this one was written
    second = [step(4), step(5)]
    write_pending(folder, 2, second, ["m4@pli.test", "m5@pli.test"], size(home))
    indexed = {"m1@pli.test", "m2@pli.test", "m4@pli.test"}  # m3, m5: the crash came before their commit

    assert recover(folder, journal, home, indexed.__contains__) == 2
    for n, count in [(1, 1), (2, 1), (3, 0), (4, 1), (5, 0)]:
        assert len(steps_of(home, f"env-{n}")) == count, n
    assert pending_files(folder) == []
    assert verify(home).entries == 4                        # sealed env-0, env-1, then env-2 and env-4
    assert recover(folder, journal, home, indexed.__contains__) == 0   # nothing left: nothing twice


def test_a_pending_file_cut_short_by_the_crash_is_dropped_and_a_damaged_one_refused(home, journal, tmp_path):
    folder = tmp_path / "pending"
    folder.mkdir()
    (folder / ".000000000001.steps.tmp").write_text('{"journal_size": 0, "ste')  # never renamed in place
    assert recover(folder, journal, home, lambda mid: True) == 0
    assert list(folder.iterdir()) == []
    (folder / "000000000002.steps").write_text("not json")
    with pytest.raises(PendingTraceDamaged, match="000000000002.steps is damaged.*move it aside"):
        recover(folder, journal, home, lambda mid: True)


def test_pending_files_are_private(home, tmp_path):
    path = write_pending(tmp_path / "pending", 7, [step(1)], ["m1@pli.test"], 0)
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "pending").stat().st_mode & 0o777 == 0o700


def test_a_message_id_the_trace_cannot_hold_is_left_out_of_its_step_not_the_recovery(home, journal, tmp_path):
    """A sender chooses the Message-ID: one too long for the trace loses its `mid`, one that cannot
    name a step (spaces) loses its step, and neither stops the steps of the others."""
    folder = tmp_path / "pending"
    long_mid = "m" * 600 + "@pli.test"
    long = Step("opened-verified", "env-9", {"mid": long_mid, "sender": "lab@pli.test", "mode": "otp"})
    spaced = Step("quarantined", "an id with spaces", {"mid": "an id with spaces", "reason": "unsealed"})
    write_pending(folder, 1, [step(1), long, spaced], ["m1@pli.test", long_mid, "q@quarantine.pli.invalid"],
                  size(home))
    assert recover(folder, journal, home, lambda mid: True) == 2
    assert "mid" not in steps_of(home, "env-9")[0].details
    assert steps_of(home, "env-1")[0].details["mid"] == "m1@pli.test"
    assert steps_of(home, "an id with spaces") == []
    assert verify(home).entries == 2


def test_steps_of_a_batch_cut_before_its_signed_entry_are_written_again(home, journal, tmp_path):
    """A power loss in the middle of the batch's write kept its first entries, unsigned (version 2 signs the
    last): the next writer sets them aside, so recovery must not count them as written."""
    folder = tmp_path / "pending"
    from pli.core.audit.journal import head_path

    journal.record("sealed", "env-0")
    kept, head = journal_path(home).read_bytes(), head_path(home).read_bytes()
    batch = [step(1), step(2), step(3)]
    write_pending(folder, 1, batch, ["m1@pli.test", "m2@pli.test", "m3@pli.test"], size(home))
    journal.record_many(batch)
    written = journal_path(home).read_bytes()[len(kept):].splitlines(keepends=True)
    journal_path(home).write_bytes(kept + b"".join(written[:2]))   # entries 1 and 2, without the signed third
    head_path(home).write_bytes(head)                              # the head is replaced after the journal's fsync

    assert recover(folder, journal, home, lambda mid: True) == 3
    for n in (1, 2, 3):
        assert len(steps_of(home, f"env-{n}")) == 1, n
    assert verify(home).entries == 4
