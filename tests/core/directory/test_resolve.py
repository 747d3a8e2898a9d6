"""core/directory/resolve.py: the keyring knows its own keys; resolving through the directory is what
with_directory (and resolve.unlock, behind every command) adds, and what crypto no longer imports."""
from __future__ import annotations

import pytest

from pli.core.crypto.keyring import KEYRING_ONLY, Keyring, UnknownRecipient
from pli.core.directory.resolve import DirectoryResolver, unlock, with_directory

from crypto_fixtures import PASSPHRASE, passphrase_file, people
from directory_fixtures import Authority, entry_for


def test_a_keyring_alone_reaches_only_its_own_keys_and_the_directory_adds_the_rest(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    carol = people(tmp_path / "other", "carol")[0]
    Authority().install(alice.home, [entry_for(carol.identity.public)])
    alone = Keyring.unlock(alice.home, PASSPHRASE)
    assert alone.resolver is KEYRING_ONLY
    assert alone.reach("bob@pli.test") == bob.identity.public     # introduced: in the keyring
    with pytest.raises(UnknownRecipient):
        alone.reach("carol@pli.test")
    assert alone.installed_directory() is None
    resolving = with_directory(alone)
    assert isinstance(resolving.resolver, DirectoryResolver)
    assert resolving.reach("carol@pli.test").agree_public == carol.identity.public.agree_public
    assert resolving.installed_directory().by_address("carol@pli.test") is not None


def test_unlock_gives_the_keyring_that_resolves_through_the_directory(tmp_path, monkeypatch):
    alice, = people(tmp_path, "alice")
    carol = people(tmp_path / "other", "carol")[0]
    Authority().install(alice.home, [entry_for(carol.identity.public)])
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(passphrase_file(tmp_path / "pass", PASSPHRASE)))
    keyring = unlock(alice.home)
    assert keyring.reach("carol@pli.test").address == "carol@pli.test"
