"""A home imports only directories signed by its trust anchor, and keeps the old one otherwise."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hostile_json import HOSTILE as HOSTILE_JSON, with_field
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.cli import main
from pli.core.directory import (BadDirectorySignature, DirectoryRefused, NoTrustAnchor, PublicKey,
                                UnsignedDirectory, WrongAuthority, import_directory, load_directory,
                                set_trust_anchor)
from pli.core.directory.entry import DirectoryEntry
from pli.core.directory.local import installed_path
from pli.core.directory.signed import sign_directory
from pli.core.home import Home

AUTHORITY = Ed25519PrivateKey.generate()


def public(key) -> PublicKey:
    return PublicKey("ed25519", key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def people(*names):
    return [DirectoryEntry(id=f"1000000000{n}", kind="person", name=name, town="Lyon",
                           addresses=(f"{name.split()[-1].lower()}@pli.test",))
            for n, name in enumerate(names)]


@pytest.fixture
def home(tmp_path):
    home = Home(tmp_path / "home")
    set_trust_anchor(home, public(AUTHORITY))
    return home


def test_a_signed_directory_is_imported_and_loaded(home):
    import_directory(home, sign_directory(people("Jeanne Martin", "Paul Bernard"), AUTHORITY, serial=1))
    directory = load_directory(home)
    assert [e.name for e in directory.entries] == ["Jeanne Martin", "Paul Bernard"]
    assert directory.by_address("MARTIN@pli.test").id == "10000000000"


def test_an_unsigned_directory_is_refused(home):
    data = sign_directory(people("Jeanne Martin"), AUTHORITY, serial=1)
    payload = data.split(b"\n\n", 1)[1]
    with pytest.raises(UnsignedDirectory):
        import_directory(home, payload)
    assert not installed_path(home).exists()


def test_a_badly_signed_directory_is_refused(home):
    data = bytearray(sign_directory(people("Jeanne Martin"), AUTHORITY, serial=1))
    at = data.index(b"signature: ") + len(b"signature: ") + 3
    data[at] = ord("A") if data[at] != ord("A") else ord("B")
    with pytest.raises(BadDirectorySignature):
        import_directory(home, bytes(data))


def test_a_directory_from_another_authority_is_refused(home):
    with pytest.raises(WrongAuthority):
        import_directory(home, sign_directory(people("Jeanne Martin"), Ed25519PrivateKey.generate(), serial=1))


def test_another_authority_claiming_ours_fails_the_signature(home):
    data = sign_directory(people("Jeanne Martin"), Ed25519PrivateKey.generate(), serial=1)
    header, payload = data.split(b"\n\n", 1)
    lines = header.split(b"\n")
    lines[1] = b"authority: ed25519 " + public(AUTHORITY).b64.encode()
    with pytest.raises(BadDirectorySignature):
        import_directory(home, b"\n".join(lines) + b"\n\n" + payload)


def test_a_tampered_entry_is_refused_and_the_installed_directory_stays(home):
    import_directory(home, sign_directory(people("Jeanne Martin"), AUTHORITY, serial=1))
    data = sign_directory(people("Jeanne Martin"), AUTHORITY, serial=2)
    tampered = data.replace(b"martin@pli.test", b"mallet@pli.test")
    assert tampered != data

    with pytest.raises(BadDirectorySignature):
        import_directory(home, tampered)
    assert load_directory(home).by_address("martin@pli.test") is not None


def test_a_file_tampered_after_import_is_refused_at_load(home):
    import_directory(home, sign_directory(people("Jeanne Martin"), AUTHORITY, serial=1))
    path = installed_path(home)
    path.write_bytes(path.read_bytes().replace(b"Lyon", b"Lyom"))
    with pytest.raises(BadDirectorySignature):
        load_directory(home)


def test_an_older_directory_does_not_replace_a_newer_one(home):
    import_directory(home, sign_directory(people("Jeanne Martin", "Paul Bernard"), AUTHORITY, serial=5))
    with pytest.raises(DirectoryRefused, match="older"):
        import_directory(home, sign_directory(people("Jeanne Martin"), AUTHORITY, serial=4))
    assert len(load_directory(home)) == 2


def test_no_trust_anchor_means_no_import(tmp_path):
    with pytest.raises(NoTrustAnchor):
        import_directory(Home(tmp_path / "bare"), sign_directory(people("Jeanne Martin"), AUTHORITY, serial=1))


def test_cli_refuses_a_bad_directory_with_one_line(home, tmp_path, capsys):
    bad = tmp_path / "bad.pli"
    bad.write_bytes(sign_directory(people("Jeanne Martin"), AUTHORITY, serial=1).replace(b"Lyon", b"Lyom"))

    status = main(["--home", str(home.root), "dir", "import", str(bad)])

    err = capsys.readouterr().err
    assert status != 0 and err.count("\n") == 1 and "signature" in err


def test_a_good_directory_replaces_a_damaged_installed_one(home):
    import_directory(home, sign_directory(people("Jeanne Martin"), AUTHORITY, serial=7))
    installed_path(home).write_bytes(b"damaged")
    import_directory(home, sign_directory(people("Paul Bernard"), AUTHORITY, serial=3))
    assert [e.name for e in load_directory(home).entries] == ["Paul Bernard"]


# -- hostile payloads: signed, but built to break the reader (deep nesting, huge numbers, wrong types) --------

def signed(payload: bytes, key=AUTHORITY) -> bytes:
    """A directory file around any payload bytes, correctly signed: the signature is not what is tested."""
    from pli.core.directory.signed import DOMAIN, MAGIC
    import base64

    return (MAGIC + b"authority: ed25519 " + public(key).b64.encode() + b"\nsignature: "
            + base64.b64encode(key.sign(DOMAIN + payload)) + b"\n\n" + payload)


def payload(**fields) -> bytes:
    import json

    obj = {"format": "pli-directory", "version": 1, "serial": 1, "issued": "2025-01-01T00:00:00Z",
           "entries": [p.to_json() for p in people("Jeanne Martin")]}
    return json.dumps({**obj, **fields}).encode()


def entry_with(**fields) -> dict:
    return {**people("Jeanne Martin")[0].to_json(), **fields}


HOSTILE = {
    "nested-100000": b'{"format": "pli-directory", "version": 1, "entries": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "nested-in-entry": payload(entries=[entry_with(town=None)])[:-3] + b', "x": ' + b"{\"a\":" * 50_000 + b"1"
                       + b"}" * 50_000 + b"}]}",
    "serial-1e400": payload(serial=1e400 if False else 0).replace(b'"serial": 0', b'"serial": 1e400'),
    "serial-5000-digits": payload(serial=0).replace(b'"serial": 0', b'"serial": ' + b"9" * 5000),
    "serial-nan": payload(serial=0).replace(b'"serial": 0', b'"serial": NaN'),
    "key-added-1e400": payload(entries=[entry_with(keys=[{"alg": "ed25519", "key": public(AUTHORITY).b64,
                                                          "added": "X"}])]).replace(b'"X"', b"1e400"),
    "key-revoked-number": payload(entries=[entry_with(keys=[{"alg": "ed25519", "key": public(AUTHORITY).b64,
                                                             "revoked": 12, "reason": "retired"}])]),
    "key-alg-list": payload(entries=[entry_with(keys=[{"alg": ["ed25519"], "key": public(AUTHORITY).b64}])]),
    "keys-not-a-list": payload(entries=[entry_with(keys=7)]),
    "key-not-an-object": payload(entries=[entry_with(keys=["ed25519"])]),
    "id-huge-number": payload(entries=[entry_with(id=10 ** 400)]),
    "addresses-nested": payload(entries=[entry_with(addresses=[["a@pli.test"]])]),
    "not-utf8": payload().replace(b"Jeanne", b"Je\xffnne"),
    "top-level-list": b"[1, 2, 3]",
    "issued-number": payload(issued=1e300),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_signed_payload_is_refused_in_one_line_never_an_internal_error(home, tmp_path, capsys, name):
    path = tmp_path / f"{name}.pli"
    path.write_bytes(signed(HOSTILE[name]))
    with pytest.raises(DirectoryRefused):
        import_directory(home, path.read_bytes())

    status = main(["--home", str(home.root), "dir", "import", str(path)])
    err = capsys.readouterr().err
    assert status == 4, err
    assert err.count("\n") == 1 and "malformed" in err
    assert not installed_path(home).exists()


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_installed_file_is_refused_at_load_or_at_the_look_ups_that_reach_it(home, name):
    from pli.core.directory.local import checked_path, _mark

    installed_path(home).parent.mkdir(parents=True, exist_ok=True)
    data = signed(HOSTILE[name])
    installed_path(home).write_bytes(data)
    checked_path(home).write_bytes(_mark(data))      # a forged "checked" mark defers the checks to each look-up
    try:
        directory = load_directory(home)
    except DirectoryRefused:
        return
    refused = 0
    for look_up in (lambda: directory.by_address("martin@pli.test"), lambda: directory.search("martin"),
                    lambda: directory.by_fingerprint(public(AUTHORITY).fingerprint), lambda: directory.entries,
                    lambda: directory.members("g-1")):
        try:
            look_up()            # an answer, or the refusal: never another exception
        except DirectoryRefused:
            refused += 1
    assert refused, "the malformed entry was used as if it were good"


TOP_FIELDS = ("serial", "issued", "entries", "version")
ENTRY_FIELDS = ("id", "kind", "name", "town", "addresses", "keys", "groups")
KEY_FIELDS = ("alg", "key", "added", "revoked", "reason")


@given(where=st.sampled_from([("top", f) for f in TOP_FIELDS] + [("entry", f) for f in ENTRY_FIELDS]
                             + [("key", f) for f in KEY_FIELDS]), value=HOSTILE_JSON)
def test_any_hostile_field_imports_or_is_refused(tmp_path_factory, where, value):
    home = Home(tmp_path_factory.mktemp("home"))
    set_trust_anchor(home, public(AUTHORITY))
    level, field = where
    entry = entry_with(keys=[{"alg": "ed25519", "key": public(AUTHORITY).b64, "added": "2025-01-01",
                              "revoked": "2025-06-01", "reason": "retired"}])
    top = {"format": "pli-directory", "version": 1, "serial": 1, "issued": "2025-01-01T00:00:00Z",
           "entries": [entry]}
    path = {"top": (field,), "entry": ("entries", 0, field), "key": ("entries", 0, "keys", 0, field)}[level]
    body = with_field(top, path, value)
    try:
        import_directory(home, signed(body))
    except DirectoryRefused as error:
        assert "\n" not in str(error)
        return
    directory = load_directory(home)
    directory.by_address("martin@pli.test")
    directory.search("martin")
