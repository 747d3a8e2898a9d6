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
