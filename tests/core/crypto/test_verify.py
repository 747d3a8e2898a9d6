"""verify_mail: what a holder of public keys only (the gateway) can prove about a sealed mail."""
from __future__ import annotations

import base64
from datetime import datetime, timezone

import pytest

from crypto_fixtures import inner_message, people
from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.refusals import BadSignature, NotSealed, UnknownSender
from pli.core.crypto.mime import extract_envelope
from pli.core.crypto.verify import RevokedSender, verify_mail
from pli.core.directory.resolve import Trust
from pli.core.directory import Directory, DirectoryEntry, KeyRecord, PublicKey

EARLY = datetime(2020, 1, 1, tzinfo=timezone.utc)


def entry(keyring, revoked=None, reason=None):
    public = keyring.identity.public
    key = KeyRecord(PublicKey("ed25519", public.sign_public), added=EARLY, revoked=revoked, reason=reason)
    return DirectoryEntry(id=public.id, kind="person", name=public.name, addresses=(public.address,), keys=(key,))


@pytest.fixture
def pair(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    return alice, bob, seal_mail(inner_message(), alice, ["bob@pli.test"])


def test_a_sender_listed_in_the_directory_verifies_without_any_secret(pair):
    alice, _, raw = pair
    checked = verify_mail(raw, Trust(Directory([entry(alice)])))
    assert checked.sender_address == "alice@pli.test" and checked.recipients == ("bob@pli.test",)
    assert checked.fingerprint == alice.identity.public.fingerprint
    assert len(checked.envelope_id) == 32 and len(checked.digest) == 64


def test_a_compromised_key_is_refused_whatever_the_signing_time(pair):
    alice, _, raw = pair
    revoked = entry(alice, revoked=datetime(2999, 1, 1, tzinfo=timezone.utc), reason="compromised")
    with pytest.raises(RevokedSender) as refused:
        verify_mail(raw, Trust(Directory([revoked])))
    assert refused.value.reason == "revoked-key"


def test_unknown_keys_and_borrowed_addresses_are_refused(pair):
    alice, bob, raw = pair
    with pytest.raises(UnknownSender):
        verify_mail(raw, Trust())
    # bob's directory entry claims alice's key: the mail says alice, the directory says the key is bob's.
    stolen = DirectoryEntry(id=bob.identity.public.id, kind="person", name="Dr Bob", addresses=("bob@pli.test",),
                            keys=entry(alice).keys)
    with pytest.raises(UnknownSender):
        verify_mail(raw, Trust(Directory([stolen, DirectoryEntry(id="10000000009", kind="person", name="A",
                                                                  addresses=("alice@pli.test",))])))


def test_plain_mail_and_altered_signatures(pair):
    alice, _, raw = pair
    trust = Trust.of([alice.identity.public])
    with pytest.raises(NotSealed):
        verify_mail(b"From: a@b\nSubject: hi\n\nplain\n", trust)
    envelope = extract_envelope(raw)
    flipped = bytearray(envelope)
    flipped[-1] ^= 1                                   # a bit of the signature itself
    tampered = raw.replace(base64.encodebytes(envelope), base64.encodebytes(bytes(flipped)))
    with pytest.raises(BadSignature):
        verify_mail(tampered, trust)
