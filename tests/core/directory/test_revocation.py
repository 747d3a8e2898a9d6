"""A key the installed directory revokes is revoked on every path that trusts a signature: `pli open`, the
import (`pli new`, `pli import`, and so `pli fetch`), receipts, the gateway's check, `pli show`: mail signed
after the revocation is refused (`revoked-key`), mail signed before it is shown with a warning.

The keyring knowing the key (keys exchanged in person) changes nothing: that was the hole.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crypto_fixtures import PASSPHRASE, inner_message, people
from directory_fixtures import Authority, entry_for
from pli.core.cli import main
from pli.core.crypto.envelope import open_mail, seal_mail
from pli.core.crypto.verify import RevokedSender, verify_mail
from pli.core.directory.resolve import Trust
from pli.core.store import Store, create_store
from pli.core.mail.receive import receive

REVOKED = datetime(2026, 6, 1, tzinfo=timezone.utc)
BEFORE = int((REVOKED - timedelta(days=3)).timestamp())
AFTER = int((REVOKED + timedelta(days=3)).timestamp())


@pytest.fixture
def pair(tmp_path, monkeypatch):
    """alice (a lab) and bob, who exchanged keys in person; bob's directory later revokes alice's key."""
    alice, bob = people(tmp_path, "alice", "bob")
    create_store(bob.home)
    (tmp_path / "pass").write_text(PASSPHRASE)
    (tmp_path / "pass").chmod(0o600)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(tmp_path / "pass"))
    return alice, bob


def revoke(alice, bob, reason: str) -> None:
    entry = entry_for(alice.identity.public)
    entry = entry.with_revocation(entry.current_key("ed25519").fingerprint, REVOKED, reason)
    Authority().install(bob.home, [entry, entry_for(bob.identity.public)])


def sealed(alice, when: int, subject: str = "K+ 6.8 mmol/L") -> bytes:
    return seal_mail(inner_message(subject=subject), alice, ["bob@pli.test"], now=when)


@pytest.mark.parametrize("reason", ["superseded", "retired", "compromised"])
def test_open_refuses_mail_signed_after_the_revocation_even_with_the_key_in_the_keyring(pair, reason):
    alice, bob = pair
    revoke(alice, bob, reason)
    assert bob.sender(alice.identity.public.signing_fingerprint) is not None     # the keyring has the key
    with pytest.raises(RevokedSender, match="revoked on 2026-06-01") as refused:
        open_mail(sealed(alice, AFTER), bob)
    assert refused.value.reason == "revoked-key" and refused.value.exit_code == 4


def test_mail_signed_before_a_superseded_key_was_revoked_opens_with_a_warning(pair):
    alice, bob = pair
    revoke(alice, bob, "superseded")
    opened = open_mail(sealed(alice, BEFORE), bob)
    assert b"K+ 6.8" in opened.inner
    assert "revoked on 2026-06-01" in opened.warning and "superseded" in opened.warning


def test_a_compromised_key_is_refused_whatever_the_claimed_time(pair):
    alice, bob = pair
    revoke(alice, bob, "compromised")
    with pytest.raises(RevokedSender):
        open_mail(sealed(alice, BEFORE), bob)       # a thief can backdate


def test_pli_open_refuses_after_in_one_line_and_warns_before(pair, tmp_path, capsys):
    alice, bob = pair
    revoke(alice, bob, "superseded")
    (tmp_path / "after.eml").write_bytes(sealed(alice, AFTER))
    (tmp_path / "before.eml").write_bytes(sealed(alice, BEFORE))

    assert main(["--home", str(bob.home.root), "open", str(tmp_path / "after.eml")]) == 4
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "revoked on 2026-06-01" in captured.err

    assert main(["--home", str(bob.home.root), "open", str(tmp_path / "before.eml")]) == 0
    captured = capsys.readouterr()
    assert "K+ 6.8" in captured.out
    assert [line for line in captured.err.splitlines() if line.startswith("WARNING: ")], captured.err


def test_the_import_quarantines_after_and_keeps_before_with_a_tag_and_a_line(pair, tmp_path, capsys):
    alice, bob = pair
    revoke(alice, bob, "superseded")
    for name, when, subject in (("after", AFTER, "after revocation"), ("before", BEFORE, "before revocation")):
        (bob.home.root / "incoming" / "new" / name).write_bytes(sealed(alice, when, subject))
    receive(bob.home, None, keyring=bob, workers=1)

    with Store.open(bob.home) as store:
        rows = {row.subject: row for row in store.window("*", 0, 10)}
        before = store.read_clear(rows["before revocation"].message_id)
    assert {"quarantine", "revoked-key"} <= rows["Sealed message"].tags          # refused: its content unread
    assert "verified" not in rows["Sealed message"].tags
    assert {"inbox", "verified", "key-revoked"} <= rows["before revocation"].tags
    assert b"X-Pli-Warning: the key that signed this message was revoked on 2026-06-01" in before

    assert main(["--home", str(bob.home.root), "show", "--summary", rows["before revocation"].message_id]) == 0
    assert "WARNING: the key that signed this message was revoked" in capsys.readouterr().out


def test_a_receipt_signed_with_a_revoked_key_is_quarantined_not_counted(pair):
    from pli.core.receipts import acknowledgements
    from pli.core.receipts.message import Receipt, build
    from pli.core.store.layout import Layout

    alice, bob = pair
    create_store(alice.home)
    from pli.core.mail.send import seal_and_queue
    import email
    import email.policy
    inner = email.message_from_bytes(inner_message().replace(b"inner-1", b"asked-1"), policy=email.policy.default)
    envelope = seal_and_queue(alice.home, alice, inner, ["bob@pli.test"], receipts="delivery").envelope_id
    revoke(bob, alice, "superseded")                       # alice's directory revokes bob's key
    receipt = Receipt("delivery", envelope, "asked-1@pli.test", "bob@pli.test", bob.identity.public.id,
                      datetime.fromtimestamp(AFTER, timezone.utc))
    (alice.home.root / "incoming" / "new" / "r").write_bytes(
        seal_mail(build(receipt, "Dr Bob", "alice@pli.test"), bob, ["alice@pli.test"], now=AFTER))
    receive(alice.home, None, keyring=alice, workers=1)

    assert acknowledgements(Layout(alice.home), "asked-1@pli.test") == []
    with Store.open(alice.home) as store:
        [refused] = store.window("tag:quarantine", 0, 10)
        assert "revoked-key" in refused.tags
        assert "delivered" not in store.summary("asked-1@pli.test").tags


def test_the_gateways_check_applies_the_same_rule(pair):
    alice, bob = pair
    revoke(alice, bob, "superseded")
    trust = Trust.of_home(bob.home)
    with pytest.raises(RevokedSender):
        verify_mail(sealed(alice, AFTER), trust)
    assert verify_mail(sealed(alice, BEFORE), trust).sender_address == "alice@pli.test"


# -- the commands as a user runs them: the keyring pli new and pli fetch unlock themselves -------------------------
# The tests above hand the import a keyring; these let each command unlock its own, from the passphrase file,
# so a command that unlocked without the home's directory (the keyring's keys only) would store the mail after
# the revocation as verified.

def _stored_after_and_before(home) -> dict:
    with Store.open(home) as store:
        return {row.subject: row.tags for row in store.window("*", 0, 10)}


def _revoked_as_the_import_shows_it(rows: dict) -> None:
    assert {"quarantine", "revoked-key"} <= rows["Sealed message"] and "verified" not in rows["Sealed message"]
    assert {"inbox", "verified", "key-revoked"} <= rows["before revocation"]
    assert "after revocation" not in rows                    # its content was never read


def test_pli_new_unlocks_through_the_directory_and_applies_its_revocation(pair, capsys):
    alice, bob = pair
    revoke(alice, bob, "superseded")
    for name, when, subject in (("after", AFTER, "after revocation"), ("before", BEFORE, "before revocation")):
        (bob.home.root / "incoming" / "new" / name).write_bytes(sealed(alice, when, subject))
    assert main(["--home", str(bob.home.root), "new", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 quarantined" in out and "revoked-key" in out
    _revoked_as_the_import_shows_it(_stored_after_and_before(bob.home))


def test_pli_fetch_applies_the_directorys_revocation(pair, tmp_path):
    """`pli fetch` as a real process, from a real Dovecot over IMAP."""
    import imaplib
    import os
    import shutil
    import subprocess

    from pli.core.transport.submission import crlf
    from transport_fixtures import PLI, Dovecot, write_account

    if shutil.which("dovecot") is None and not os.path.exists("/usr/sbin/dovecot"):
        pytest.skip("dovecot is not installed (.ci/system-packages installs it)")
    alice, bob = pair
    revoke(alice, bob, "superseded")
    server = Dovecot().start()
    try:
        imap = imaplib.IMAP4("127.0.0.1", server.imap_port)
        imap.login("bob", Dovecot.USERS["bob"])
        imap.select("INBOX")
        for when, subject in ((AFTER, "after revocation"), (BEFORE, "before revocation")):
            assert imap.append("INBOX", None, None, crlf(sealed(alice, when, subject)))[0] == "OK"
        imap.logout()
        secret = bob.home.root / "imap.pass"
        secret.write_text(Dovecot.USERS["bob"])
        secret.chmod(0o600)
        write_account(bob.home, address="bob@pli.test", imap_host="127.0.0.1", imap_port=server.imap_port,
                      imap_security="none", username="bob", password_file=str(secret))
        done = subprocess.run([*PLI, "--home", str(bob.home.root), "fetch"], capture_output=True, timeout=60,
                              env=dict(os.environ, PLI_PASSPHRASE_FILE=str(tmp_path / "pass")))
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert b"fetched 2 new messages" in done.stdout
    _revoked_as_the_import_shows_it(_stored_after_and_before(bob.home))
