"""Sealing to directory entries: keyring first, then the signed directory; revoked keys refused with their date."""
from datetime import datetime, timezone

from dataclasses import replace

import pytest

from crypto_fixtures import inner_message, make_keyring
from directory_fixtures import Authority, entry_for
from pli.core.cli import main
from pli.core.crypto.envelope import open_mail, seal_mail
from pli.core.crypto.envelope_format import parse
from pli.core.crypto.identity import Identity
from pli.core.crypto.keyring import UnknownRecipient
from pli.core.crypto.mime import extract_envelope
from pli.core.directory import Directory, DirectoryEntry, DirectoryRefused, PublicKey
from pli.core.directory.local import installed_path
from pli.core.directory.recipients import NoDirectoryKey, RevokedRecipient, reach

REVOKED = datetime(2025, 6, 1, tzinfo=timezone.utc)


@pytest.fixture
def net(tmp_path):
    """alice, and bob and carol whom alice's keyring does not know; bob and carol know alice."""
    alice, bob, carol = (make_keyring(tmp_path, name, n) for n, name in enumerate(("alice", "bob", "carol"), 1))
    for reader in (bob, carol):
        reader.import_public(alice.identity.public)
    return alice, bob, carol


def envelope_recipients(sealed: bytes) -> list[str]:
    return [r.address for r in parse(extract_envelope(sealed)).recipients]


def test_a_directory_only_recipient_is_sealed_to_and_opens(net):
    alice, bob, _ = net
    Authority().install(alice.home, [entry_for(bob.identity.public, town="Lyon")])
    sealed = seal_mail(inner_message(), alice, ["bob@pli.test"])
    opened = open_mail(sealed, bob)
    assert b"K+ 6.8" in opened.inner and opened.sender_address == "alice@pli.test"
    assert "bob@pli.test" not in [c.address for c in alice.correspondents()]   # nothing silently imported


def test_an_address_in_neither_is_refused_in_one_clear_line(net):
    alice, bob, _ = net
    Authority().install(alice.home, [entry_for(bob.identity.public)])
    with pytest.raises(UnknownRecipient, match="neither in your keyring nor in the directory"):
        seal_mail(inner_message(), alice, ["nobody@pli.test"])


def test_pli_seal_names_an_unknown_address_without_a_traceback(net, tmp_path, monkeypatch, capsys):
    alice, _, _ = net
    (tmp_path / "pass").write_text("correct horse battery staple\n")
    (tmp_path / "pass").chmod(0o600)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(tmp_path / "pass"))
    (tmp_path / "msg.eml").write_bytes(inner_message())
    code = main(["--home", str(alice.home.root), "seal", "--to", "nobody@pli.test", str(tmp_path / "msg.eml")])
    err = capsys.readouterr().err
    assert code == 7 and err.count("\n") == 1
    assert "no key for nobody@pli.test" in err and "Traceback" not in err


def test_a_revoked_key_with_no_successor_is_refused_with_its_date(net):
    alice, bob, _ = net
    entry = entry_for(bob.identity.public)
    entry = entry.with_revocation(entry.current_key("x25519").fingerprint, REVOKED, "compromised")
    Authority().install(alice.home, [entry])
    with pytest.raises(RevokedRecipient, match="revoked on 2025-06-01") as caught:
        seal_mail(inner_message(), alice, ["bob@pli.test"])
    assert caught.value.revoked == REVOKED and caught.value.revocation_reason == "compromised"


def test_a_keyring_key_the_directory_revoked_is_refused_too(net):
    alice, bob, _ = net
    alice.import_public(bob.identity.public)
    entry = entry_for(bob.identity.public)
    Authority().install(alice.home, [entry.with_revocation(entry.current_key("x25519").fingerprint, REVOKED,
                                                           "compromised")])
    with pytest.raises(RevokedRecipient, match="2025-06-01"):
        seal_mail(inner_message(), alice, ["bob@pli.test"])


def test_a_rotated_key_replaces_the_keyring_copy(net, tmp_path):
    alice, bob, _ = net
    alice.import_public(bob.identity.public)             # bob's old key, exchanged in person
    new_bob = make_keyring(tmp_path / "new", "bob", 2)   # bob's new identity, same address
    new_bob.import_public(alice.identity.public)
    entry = entry_for(bob.identity.public).with_key(PublicKey("x25519", new_bob.identity.public.agree_public),
                                                    REVOKED)   # the old one becomes superseded
    Authority().install(alice.home, [entry])
    sealed = seal_mail(inner_message(), alice, ["bob@pli.test"])
    assert b"K+ 6.8" in open_mail(sealed, new_bob).inner


def test_the_keyring_wins_over_a_different_unrevoked_directory_key(net, tmp_path):
    alice, bob, _ = net
    alice.import_public(bob.identity.public)
    other = make_keyring(tmp_path / "other", "bob", 2)
    Authority().install(alice.home, [entry_for(other.identity.public)])
    sealed = seal_mail(inner_message(), alice, ["bob@pli.test"])
    assert b"K+ 6.8" in open_mail(sealed, bob).inner


def test_a_group_without_a_key_is_sealed_to_each_member(net):
    alice, bob, carol = net
    practice = DirectoryEntry(id="cab-tilleuls", kind="group", name="Cabinet des Tilleuls",
                              addresses=("tilleuls@pli.test",))
    members = [entry_for(k.identity.public, groups=("cab-tilleuls",)) for k in (bob, carol)]
    Authority().install(alice.home, [practice, *members])
    sealed = seal_mail(inner_message(), alice, ["tilleuls@pli.test"])
    assert envelope_recipients(sealed) == ["bob@pli.test", "carol@pli.test"]
    for member in (bob, carol):
        assert b"K+ 6.8" in open_mail(sealed, member).inner


def test_a_group_with_its_own_key_is_sealed_to_the_group_key(net):
    alice, bob, _ = net
    group = bob.create_group("cab-tilleuls", "tilleuls@pli.test", "Cabinet des Tilleuls")
    Authority().install(alice.home, [entry_for(group.public), entry_for(bob.identity.public,
                                                                         groups=("cab-tilleuls",))])
    sealed = seal_mail(inner_message(), alice, ["tilleuls@pli.test"])
    assert envelope_recipients(sealed) == ["tilleuls@pli.test"]
    assert b"K+ 6.8" in open_mail(sealed, bob).inner


def test_a_member_without_a_key_is_reached_through_the_proxy_serving_them():
    proxy_identity = Identity.generate("chu-nord", "courrier@chu.test", "CHU Nord", kind="proxy")
    proxy = entry_for(proxy_identity.public)
    nurse = DirectoryEntry(id="10000000042", kind="person", name="Inf. Rose", addresses=("rose@chu.test",),
                           groups=("chu-nord",))
    found = reach(Directory([proxy, nurse]), "rose@chu.test")
    assert found.agree_public == proxy_identity.public.agree_public
    assert "rose@chu.test" in found.serves


def test_an_entry_without_any_key_is_named_as_such():
    bare = DirectoryEntry(id="10000000043", kind="person", name="Dr Sans Clef", addresses=("sans@pli.test",))
    with pytest.raises(NoDirectoryKey, match="without a key"):
        reach(Directory([bare]), "sans@pli.test")


def test_a_damaged_directory_does_not_stop_mail_to_keyring_contacts(net):
    alice, bob, carol = net
    alice.import_public(bob.identity.public)
    Authority().install(alice.home, [entry_for(carol.identity.public)])
    data = installed_path(alice.home).read_bytes()
    installed_path(alice.home).write_bytes(data.replace(b"carol", b"carl"))   # breaks the signature
    assert b"K+ 6.8" in open_mail(seal_mail(inner_message(), alice, ["bob@pli.test"]), bob).inner
    with pytest.raises(DirectoryRefused, match="signature"):
        seal_mail(inner_message(), alice, ["carol@pli.test"])


@pytest.fixture
def strangers(tmp_path):
    """alice and dave, whose keyrings know nothing of each other."""
    return make_keyring(tmp_path, "alice", 1), make_keyring(tmp_path, "dave", 4)


def test_mail_from_a_directory_only_sender_opens_and_names_them(strangers):
    alice, dave = strangers
    Authority().install(alice.home, [entry_for(dave.identity.public)])
    Authority().install(dave.home, [entry_for(alice.identity.public, town="Lyon")])
    opened = open_mail(seal_mail(inner_message(), alice, ["dave@pli.test"]), dave)
    assert (opened.sender_address, opened.sender_name) == ("alice@pli.test", "Dr Alice")
    assert opened.fingerprint == alice.identity.public.fingerprint


def test_mail_signed_by_a_key_the_directory_revoked_is_refused_with_the_date(strangers):
    from pli.core.crypto.verify import RevokedSender

    alice, dave = strangers
    Authority().install(alice.home, [entry_for(dave.identity.public)])
    entry = entry_for(alice.identity.public)
    entry = entry.with_revocation(entry.current_key("ed25519").fingerprint, REVOKED, "compromised")
    Authority().install(dave.home, [entry])
    with pytest.raises(RevokedSender, match="revoked on 2025-06-01") as caught:
        open_mail(seal_mail(inner_message(), alice, ["dave@pli.test"]), dave)
    assert caught.value.reason == "revoked-key"


def test_a_directory_key_claimed_for_another_address_is_refused(strangers, tmp_path):
    from pli.core.crypto.envelope import UnknownSender

    alice, dave = strangers
    mallory = make_keyring(tmp_path, "mallory", 5)   # listed in the directory, claims alice's address below
    Authority().install(dave.home, [entry_for(alice.identity.public), entry_for(mallory.identity.public)])
    forged = Identity(replace(mallory.identity.public, address="alice@pli.test"), mallory.identity.agree_secret,
                      mallory.identity.sign_secret)
    mallory.identity = forged
    mallory.import_public(dave.identity.public)
    with pytest.raises(UnknownSender, match="treat it as forged"):
        open_mail(seal_mail(inner_message(), mallory, ["dave@pli.test"]), dave)


def test_pli_send_refuses_an_unknown_address_and_queues_nothing(net, tmp_path, monkeypatch, capsys):
    from pli.core.transport.outbox import pending

    alice, bob, _ = net
    Authority().install(alice.home, [entry_for(bob.identity.public)])
    (tmp_path / "pass").write_text("correct horse battery staple\n")
    (tmp_path / "pass").chmod(0o600)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(tmp_path / "pass"))
    (tmp_path / "msg.eml").write_bytes(inner_message())
    home = ["--home", str(alice.home.root)]
    code = main([*home, "send", "--queue-only", "--to", "bob@pli.test,nobody@pli.test", str(tmp_path / "msg.eml")])
    err = capsys.readouterr().err
    assert code == 7 and err.count("\n") == 1 and "nobody@pli.test" in err
    assert pending(alice.home) == []
    assert main([*home, "send", "--queue-only", "--to", "bob@pli.test", str(tmp_path / "msg.eml")]) == 0
    [queued] = pending(alice.home)
    assert queued.recipients == ("bob@pli.test",) and b"K+ 6.8" in open_mail(queued.read(), bob).inner
