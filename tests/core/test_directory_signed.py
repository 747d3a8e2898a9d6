"""A home imports only directories signed by its trust anchor, and keeps the old one otherwise."""
import pytest
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
