"""The keyring: identities sealed at rest, unlocking, public identities, groups, proxies."""
import os
import pickle
import stat

import pytest

from pli.core.crypto.identity import BadIdentity, Identity, PublicIdentity, fingerprint
from pli.core.crypto.keyring import KeyChanged, Keyring, KeyringExists, NoKeyring, UnknownRecipient, public_view
from pli.core.crypto.pairing import introduce, share_group
from pli.core.crypto.vault import KdfParams, Vault, VaultOpenFailed, WrongPassphrase
from pli.core.directory.keyfile import fingerprint as directory_fingerprint
from pli.core.directory.resolve import with_directory
from pli.core.home import Home

from crypto_fixtures import PASSPHRASE, make_keyring, people


def test_unlock_gives_back_the_same_identity(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    again = Keyring.unlock(alice.home, PASSPHRASE)
    assert again.identity.public == alice.identity.public
    assert again.identity.sign_secret == alice.identity.sign_secret
    assert again.identity.agree_secret == alice.identity.agree_secret


def test_wrong_passphrase_is_a_clear_error_with_its_exit_code(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    with pytest.raises(WrongPassphrase) as error:
        Keyring.unlock(alice.home, "not the passphrase")
    assert "wrong passphrase" in str(error.value) and "\n" not in str(error.value)
    assert error.value.exit_code == 5


def test_secret_files_are_private_and_hold_no_key_in_clear(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    secrets = alice.files.secrets
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    data = secrets.read_bytes()
    assert alice.identity.sign_secret not in data and alice.identity.agree_secret not in data
    assert PASSPHRASE.encode() not in data


def test_keyring_refuses_to_be_created_twice_or_opened_when_missing(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    with pytest.raises(KeyringExists):
        Keyring.create(alice.home, Identity.generate("1", "x@pli.test", "X"), PASSPHRASE, kdf_log2n=10)
    with pytest.raises(NoKeyring):
        Keyring.unlock(Home(tmp_path / "nobody"), PASSPHRASE)


def test_strong_scrypt_cost_is_the_default_outside_tests(monkeypatch):
    monkeypatch.delenv("PLI_INSECURE_TEST_KDF", raising=False)
    assert KdfParams.new().log2n == 17 and KdfParams.new().r == 8


def test_hostile_kdf_parameters_are_refused():
    with pytest.raises(VaultOpenFailed):
        KdfParams.unpack(KdfParams(b"s" * 16, 40, 8, 1).pack())


def test_vault_detects_tampering_and_binds_its_aad():
    vault = Vault(os.urandom(32))
    blob = vault.seal(b"secret", b"context")
    assert vault.open(blob, b"context") == b"secret"
    with pytest.raises(VaultOpenFailed):
        vault.open(blob, b"other context")
    with pytest.raises(VaultOpenFailed):
        vault.open(blob[:-1] + bytes([blob[-1] ^ 1]), b"context")


def test_public_identity_export_round_trips_and_is_checked(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    exported = alice.export_public()
    assert PublicIdentity.parse(exported) == alice.identity.public
    assert public_view(alice.home)[0] == alice.identity.public
    with pytest.raises(BadIdentity):
        PublicIdentity.parse(b"{not json")
    with pytest.raises(BadIdentity):
        PublicIdentity.parse(exported.replace(b'"x25519": "', b'"x25519": "AAAA'))


def test_fingerprint_matches_the_directory_definition(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    raw = alice.identity.public.sign_public
    assert alice.identity.public.fingerprint == fingerprint(raw) == directory_fingerprint(raw)


def test_a_changed_key_for_a_known_address_is_refused_without_replace(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    impostor = Identity.generate("99999999999", "bob@pli.test", "Dr Bob").public
    with pytest.raises(KeyChanged):
        alice.import_public(impostor)
    alice.import_public(impostor, replace=True)
    assert alice.reach("bob@pli.test") == impostor


def test_reach_finds_people_groups_and_proxies(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    hospital = make_keyring(tmp_path, "hospital", 3, kind="proxy", serves=("carol@pli.test",))
    introduce(alice, hospital)
    assert alice.reach("BOB@pli.test").address == "bob@pli.test"
    assert alice.reach("carol@pli.test") == hospital.identity.public
    with pytest.raises(UnknownRecipient):
        alice.reach("nobody@pli.test")


def test_group_secret_reaches_members_sealed_to_them(tmp_path):
    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    group = share_group(alice, [bob], "cab-tilleuls", "cabinet@pli.test", "Cabinet des Tilleuls")
    reopened = Keyring.unlock(bob.home, PASSPHRASE)
    assert [g.public for g in reopened.groups] == [group.public]
    assert reopened.readable()["cabinet@pli.test"].agree_secret == group.agree_secret
    with pytest.raises(BadIdentity):  # sealed for bob: carol cannot join with it
        carol.import_group(alice.export_group("cabinet@pli.test", bob.identity.public))


def test_keyring_pickles_for_worker_processes(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    signature = alice.identity.sign(b"data")   # builds and keeps the key objects, which never pickle
    alice.identity.agree(bob.identity.public.agree_public)
    copy = pickle.loads(pickle.dumps(alice))
    assert copy.identity.public == alice.identity.public
    assert copy.correspondents() == alice.correspondents()
    assert copy.identity.sign(b"data") == signature
    assert copy.identity.agree(bob.identity.public.agree_public) == alice.identity.agree(bob.identity.public.agree_public)


def test_reprs_never_show_secrets(tmp_path):
    alice = make_keyring(tmp_path, "alice", 1)
    text = repr(alice) + repr(alice.identity) + repr(alice._vault)
    assert alice.identity.sign_secret.hex() not in text and str(alice.identity.sign_secret) not in text


def test_a_correspondent_trusted_later_is_known_as_a_sender(tmp_path):
    """sender() answers from a table built at its first call: trusting a key must update it."""
    alice, bob = people(tmp_path, "alice", "bob")
    carol = make_keyring(tmp_path, "carol", 3)
    carol_key = carol.identity.public.signing_fingerprint
    assert alice.sender(bob.identity.public.signing_fingerprint) == bob.identity.public
    assert alice.sender(carol_key) is None
    alice.import_public(carol.identity.public)
    assert alice.sender(carol_key) == carol.identity.public
    assert alice.sender(alice.identity.public.signing_fingerprint) == alice.identity.public


# -- group files are signed by their maker and never take someone else's address ---------------------------------

def _rogue_group(maker, address: str):
    """A group identity made outside create_group's checks (a forger builds her file by hand)."""
    group = Identity.generate("rogue-1", address, "Cabinet Rogue", kind="group")
    maker.groups = (*maker.groups, group)
    return group


def test_a_group_file_cannot_take_a_trusted_correspondents_address(tmp_path):
    """mallory is trusted by bob, but her group claims alice's address: groups are looked up first,
    so bob's mail to alice would have been sealed to mallory's group."""
    alice, bob, mallory = people(tmp_path, "alice", "bob", "mallory")
    _rogue_group(mallory, "alice@pli.test")
    with pytest.raises(BadIdentity, match="cannot take the address alice@pli.test"):
        bob.import_group(mallory.export_group("alice@pli.test", bob.identity.public))
    assert bob.groups == () and bob.reach("alice@pli.test") == alice.identity.public
    assert Keyring.unlock(bob.home, PASSPHRASE).groups == ()


def test_a_group_file_cannot_take_an_address_the_directory_holds(tmp_path):
    from directory_fixtures import Authority, entry_for

    bob, mallory = people(tmp_path, "bob", "mallory")
    dave = make_keyring(tmp_path, "dave", 4)                    # in the directory only
    Authority().install(bob.home, [entry_for(dave.identity.public)])
    _rogue_group(mallory, "dave@pli.test")
    with pytest.raises(BadIdentity, match="in the directory"):
        bob.import_group(mallory.export_group("dave@pli.test", bob.identity.public))
    assert bob.reach("dave@pli.test").agree_public == dave.identity.public.agree_public


def test_create_group_refuses_a_correspondents_address(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    with pytest.raises(BadIdentity, match="cannot take"):
        bob.create_group("cab-2", "alice@pli.test", "Not Alice")
    assert bob.groups == ()


def test_a_group_file_from_an_untrusted_or_old_maker_is_refused(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    stranger = make_keyring(tmp_path, "zoe", 8)
    stranger.import_public(bob.identity.public)
    stranger.create_group("cab-3", "cabinet@pli.test", "Cabinet")
    with pytest.raises(Exception, match="neither in your keyring nor in the directory"):
        bob.import_group(stranger.export_group("cabinet@pli.test", bob.identity.public))
    alice.create_group("cab-4", "cabinet4@pli.test", "Cabinet 4")
    data = alice.export_group("cabinet4@pli.test", bob.identity.public)
    with pytest.raises(BadIdentity, match="older pli"):
        bob.import_group(b"PLIGRP1\n" + data[8:])
    with pytest.raises(BadIdentity, match="signature"):
        bob.import_group(data[:-1] + bytes([data[-1] ^ 1]))
    assert bob.groups == ()


def test_a_group_is_never_replaced_silently(tmp_path):
    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    group = share_group(alice, [bob], "cab-5", "cabinet@pli.test", "Cabinet")
    bob.import_group(alice.export_group("cabinet@pli.test", bob.identity.public))   # the same again: fine
    assert [g.public for g in bob.groups] == [group.public]
    carol.groups = ()
    other = _rogue_group(carol, "cabinet@pli.test")          # another group under the same address
    with pytest.raises(Exception, match="different group"):
        bob.import_group(carol.export_group("cabinet@pli.test", bob.identity.public))
    assert [g.public for g in bob.groups] == [group.public] and other.public != group.public


def test_pli_keys_group_import_says_who_made_the_file(tmp_path, capsys, monkeypatch):
    from pli.core.cli import main

    alice, bob = people(tmp_path, "alice", "bob")
    (tmp_path / "pass").write_text(PASSPHRASE)
    (tmp_path / "pass").chmod(0o600)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(tmp_path / "pass"))
    alice.create_group("cab-6", "cabinet@pli.test", "Cabinet")
    (tmp_path / "g.pligroup").write_bytes(alice.export_group("cabinet@pli.test", bob.identity.public))
    assert main(["--home", str(bob.home.root), "keys", "group-import", str(tmp_path / "g.pligroup")]) == 0
    assert f"signed by Dr Alice <alice@pli.test> (key {alice.identity.public.fingerprint})" in capsys.readouterr().out


# -- ... nor does an address a group holds go to someone else later, or the group keep one someone else gets ---------

def test_a_correspondent_under_a_groups_address_is_refused(tmp_path):
    """Groups are looked up first: a person imported under a group's address would never get the mail
    meant for them (it would be sealed to the group), so the import is refused, as the reverse is."""
    alice, bob = people(tmp_path, "alice", "bob")
    group = share_group(alice, [bob], "cab-7", "cabinet@pli.test", "Cabinet")
    namesake = Identity.generate("77777777777", "cabinet@pli.test", "Dr Cabinet").public
    with pytest.raises(BadIdentity, match="your group Cabinet"):
        bob.import_public(namesake)
    with pytest.raises(BadIdentity, match="your group Cabinet"):
        bob.import_public(namesake, replace=True)
    assert "cabinet@pli.test" not in {c.address for c in Keyring.unlock(bob.home, PASSPHRASE).correspondents()}
    bob.import_public(group.public)                        # the group's own public identity: the same key, fine
    assert bob.reach("cabinet@pli.test") == group.public


def test_a_group_whose_address_the_directory_gives_someone_else_later_is_not_sealed_to(tmp_path):
    """mallory (trusted) handed bob a group under an address nobody held yet; the directory later lists a
    new lab there.  Mail bob writes to the lab must not be sealed to mallory's group: it is refused, saying why."""
    from directory_fixtures import Authority, entry_for
    from pli.core.crypto.envelope import seal_mail
    from crypto_fixtures import inner_message

    bob, mallory = people(tmp_path, "bob", "mallory")
    mallory.create_group("lab-1", "newlab@pli.test", "Nouveau labo")
    bob.import_group(mallory.export_group("newlab@pli.test", bob.identity.public))
    lab = make_keyring(tmp_path, "newlab", 5)
    Authority().install(bob.home, [entry_for(lab.identity.public), entry_for(bob.identity.public)])
    with pytest.raises(UnknownRecipient, match="Nouveau labo") as refused:
        bob.reach("newlab@pli.test")
    assert "in the directory" in str(refused.value) and refused.value.exit_code == 7
    with pytest.raises(UnknownRecipient):
        seal_mail(inner_message(), bob, ["newlab@pli.test"])


# -- a group practice the directory lists without a key, whose members share a group key -----------------------

def _practice_directory(*members: Keyring, address: str = "cabinet@pli.test") -> list:
    """The directory of a group practice at `address` listed without a key of its own, and its `members`."""
    from directory_fixtures import entry_for
    from pli.core.directory import DirectoryEntry

    practice = DirectoryEntry(id="G-TILLEULS", kind="group", name="Cabinet des Tilleuls", addresses=(address,))
    return [practice, *(entry_for(m.identity.public, groups=("G-TILLEULS",)) for m in members)]


def test_the_members_of_a_keyless_directory_practice_may_share_a_group_key(tmp_path):
    """The practice (a doctor and her secretary, say) shares a group key by hand while the directory lists its
    address as a group without a key: the group's maker is one of its members there, so the group is the
    practice's own, made, joined and sealed to, in either order (directory before or after the group)."""
    from directory_fixtures import Authority
    from pli.core.crypto.envelope import seal_mail
    from crypto_fixtures import inner_message

    alice, bob, carol = people(tmp_path, "alice", "bob", "carol")
    authority = Authority()
    authority.install(alice.home, _practice_directory(alice, bob))
    group = alice.create_group("cab-t", "cabinet@pli.test", "Cabinet des Tilleuls")
    bob.import_group(alice.export_group("cabinet@pli.test", bob.identity.public))
    authority.install(bob.home, _practice_directory(alice, bob))           # the directory after the group
    for member in (alice, bob):
        assert member.reach("cabinet@pli.test") == group.public
    sealed = seal_mail(inner_message(), alice, ["cabinet@pli.test"])
    assert sealed and Keyring.unlock(bob.home, PASSPHRASE).groups[0].public == group.public
    # and the recorded maker survives unlocking again
    assert with_directory(Keyring.unlock(bob.home, PASSPHRASE)).reach("cabinet@pli.test") == group.public


def test_a_group_made_by_someone_outside_a_keyless_directory_practice_is_refused(tmp_path):
    """mallory (trusted by bob, not a member) hands bob a group under the practice's address: it would read
    the mail bob writes to the practice, so it is refused at import; and a group bob holds from before the
    directory listed the practice is not sealed to."""
    from directory_fixtures import Authority

    alice, bob, mallory = people(tmp_path, "alice", "bob", "mallory")
    mallory.create_group("cab-m", "cabinet@pli.test", "Cabinet des Tilleuls")
    blob = mallory.export_group("cabinet@pli.test", bob.identity.public)
    other = make_keyring(tmp_path, "dave", 4)
    other.import_public(mallory.identity.public)
    other.import_group(mallory.export_group("cabinet@pli.test", other.identity.public))   # before the directory
    authority = Authority()
    authority.install(bob.home, _practice_directory(alice, bob))
    with pytest.raises(BadIdentity, match="Cabinet des Tilleuls in the directory"):
        bob.import_group(blob)
    assert bob.groups == ()
    authority.install(other.home, _practice_directory(alice, bob))
    with pytest.raises(UnknownRecipient, match="Cabinet des Tilleuls in the directory") as refused:
        with_directory(other).reach("cabinet@pli.test")
    assert refused.value.exit_code == 7


def test_a_keyring_from_before_makers_were_kept_learns_its_groups_maker_from_the_same_file_again(tmp_path):
    from directory_fixtures import Authority

    alice, bob = people(tmp_path, "alice", "bob")
    group = share_group(alice, [bob], "cab-o", "cabinet@pli.test", "Cabinet des Tilleuls")
    bob.group_makers.clear()                                     # as an older pli wrote it
    bob._save_secrets()
    Authority().install(bob.home, _practice_directory(alice, bob))
    older = with_directory(Keyring.unlock(bob.home, PASSPHRASE))
    with pytest.raises(UnknownRecipient, match="Cabinet des Tilleuls in the directory"):
        older.reach("cabinet@pli.test")
    older.import_group(alice.export_group("cabinet@pli.test", bob.identity.public))
    assert with_directory(Keyring.unlock(bob.home, PASSPHRASE)).reach("cabinet@pli.test") == group.public
