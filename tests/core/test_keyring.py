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
