"""Directory look-ups: who signed (rotation, revocation with its date), search, completion, groups."""
import re
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.directory import (Directory, DirectoryEntry, PublicKey, RevokedSigner, SignerMismatch,
                                UnknownSigner, fold)
from pli.core.directory.entry import BadEntry, from_json

JAN = datetime(2025, 1, 1, tzinfo=timezone.utc)
MAR = datetime(2025, 3, 1, tzinfo=timezone.utc)


def new_key(alg="ed25519") -> PublicKey:
    private = Ed25519PrivateKey.generate() if alg == "ed25519" else X25519PrivateKey.generate()
    return PublicKey(alg, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


OLD, NEW, AGREE, OTHER = new_key(), new_key(), new_key("x25519"), new_key()

MARTIN = (DirectoryEntry(id="10001234567", kind="person", name="Dr Hélène Martin", given_name="Hélène",
                         family_name="MARTIN", profession="Médecin", specialty="Cardiologie",
                         organisation="Cabinet des Tilleuls", town="Saint-Étienne",
                         addresses=("helene.martin@pli.test",), groups=("cab-tilleuls",))
          .with_key(OLD, JAN).with_key(AGREE, JAN).with_key(NEW, MAR))
BERNARD = DirectoryEntry(id="10007654321", kind="person", name="Dr Paul Bernard", profession="Médecin",
                         specialty="Médecine Générale", town="Lyon", addresses=("paul.bernard@pli.test",),
                         groups=("cab-tilleuls",)).with_key(OTHER, JAN)
PRACTICE = DirectoryEntry(id="cab-tilleuls", kind="group", name="Cabinet des Tilleuls", town="Lyon",
                          addresses=("tilleuls@pli.test",))


@pytest.fixture
def directory():
    return Directory([MARTIN, BERNARD, PRACTICE], serial=1)


def test_rotation_supersedes_the_old_key_from_the_new_keys_date():
    old = MARTIN.key_by_fingerprint(OLD.fingerprint)
    assert (old.revoked, old.reason) == (MAR, "superseded")
    assert MARTIN.current_key("ed25519").key == NEW
    assert MARTIN.current_key("x25519").key == AGREE


def test_the_current_key_is_accepted(directory):
    assert directory.check_signer("Helene.Martin@pli.test", NEW.fingerprint, MAR + timedelta(days=3)) is MARTIN


def test_a_superseded_key_is_accepted_before_and_flagged_after_its_date(directory):
    assert directory.check_signer("helene.martin@pli.test", OLD.fingerprint, MAR - timedelta(days=1)) is MARTIN
    with pytest.raises(RevokedSigner) as caught:
        directory.check_signer("helene.martin@pli.test", OLD.fingerprint, MAR + timedelta(days=1))
    assert caught.value.revoked == MAR
    assert "2025-03-01" in str(caught.value) and caught.value.reason == "revoked-key"


def test_a_compromised_key_is_flagged_with_its_date_whatever_the_signing_time():
    stolen = MARTIN.with_revocation(NEW.fingerprint, MAR + timedelta(days=10), "compromised")
    directory = Directory([stolen])
    with pytest.raises(RevokedSigner) as caught:
        directory.check_signer("helene.martin@pli.test", NEW.fingerprint, MAR)  # backdated by the thief
    assert caught.value.revoked == MAR + timedelta(days=10)
    assert caught.value.revocation_reason == "compromised"
    assert "2025-03-11" in str(caught.value)


def test_someone_elses_key_is_a_mismatch(directory):
    with pytest.raises(SignerMismatch) as caught:
        directory.check_signer("helene.martin@pli.test", OTHER.fingerprint, MAR)
    assert caught.value.owner is BERNARD


def test_a_member_may_sign_for_her_group_and_is_named(directory):
    assert directory.check_signer("tilleuls@pli.test", NEW.fingerprint, MAR) is MARTIN
    with pytest.raises(SignerMismatch):  # but not for another member's own address
        directory.check_signer("paul.bernard@pli.test", NEW.fingerprint, MAR)


def test_unknown_address_or_unlisted_key_is_unknown(directory):
    with pytest.raises(UnknownSigner):
        directory.check_signer("nobody@pli.test", NEW.fingerprint, MAR)
    with pytest.raises(UnknownSigner):
        directory.check_signer("helene.martin@pli.test", new_key().fingerprint, MAR)
    with pytest.raises(UnknownSigner):  # a key-agreement key never signs
        directory.check_signer("helene.martin@pli.test", AGREE.fingerprint, MAR)


@pytest.mark.parametrize("query, expected", [
    ("helene", ["10001234567"]),
    ("HÉLÈNE martin", ["10001234567"]),
    ("saint etienne", ["10001234567"]),
    ("sainte-étienne", []),
    ("cardio", ["10001234567"]),
    ("medecine generale lyon", ["10007654321"]),
    ("10007654321", ["10007654321"]),
    ("tilleuls", ["10001234567", "cab-tilleuls"]),
    ("pli.test", ["10001234567", "10007654321", "cab-tilleuls"]),
])
def test_search_ignores_accents_case_and_punctuation(directory, query, expected):
    assert [e.id for e in directory.search(query)] == expected


def test_complete_matches_name_words_addresses_and_ids(directory):
    assert [e.id for e in directory.complete("mar")] == ["10001234567"]
    assert [e.id for e in directory.complete("paul.b")] == ["10007654321"]
    assert [e.id for e in directory.complete("1000765")] == ["10007654321"]
    assert [e.id for e in directory.complete("helene mar")] == ["10001234567"]
    assert directory.complete("") == [] and directory.complete("zzz") == []


def test_a_practice_lists_its_members(directory):
    assert [e.name for e in directory.members("cab-tilleuls")] == ["Dr Hélène Martin", "Dr Paul Bernard"]
    assert directory.groups_of(BERNARD) == [PRACTICE]


def test_fold():
    assert fold("Saint-Étienne  L'Œuvre") == "saint etienne l oeuvre"
    assert fold("Dr_MARTIN, dr.martin@cab.example") == "dr martin dr.martin@cab.example"  # the ASCII fast path
    assert fold("Æsop\tMüller-Straße") == "aesop muller strasse"


def plain_fold(text: str) -> str:
    """fold() as first written: every character of the decomposition asked whether it is a combining mark."""
    ligatures = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"})
    decomposed = unicodedata.normalize("NFKD", text.translate(ligatures))
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w@.]|_", " ", kept.casefold()).split())


@given(st.text())
def test_fold_gives_what_its_plain_definition_gives(text):
    assert fold(text) == plain_fold(text)


def test_fold_and_its_fields_joined():
    fields = ("Dr Zoé d'Arc", "Saint-Étienne", "Œnologie", "", "-", "dr.zoe@pli.test")
    assert fold(" ".join(fields)) == " ".join(f for f in map(fold, fields) if f)


def test_entries_round_trip_through_json():
    assert from_json(MARTIN.to_json()) == MARTIN


@pytest.mark.parametrize("change", [
    {"id": "123"},                                   # a person's id is 11 digits
    {"kind": "robot"},
    {"addresses": ["not an address"]},
    {"name": ""},
    {"keys": [{"alg": "ed25519", "key": "AAAA"}]},  # not 32 bytes
    {"keys": [{"alg": "ed25519", "key": NEW.b64, "revoked": "2025-01-01T00:00:00Z"}]},  # no reason
])
def test_malformed_entries_are_refused(change):
    with pytest.raises(BadEntry):
        from_json({**MARTIN.to_json(), **change})
