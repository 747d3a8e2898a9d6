"""`pli init` sets the directory trust anchor: from the authority's key file, or from a signed directory file
whose signer the user confirms by its fingerprint; nothing is trusted or installed when a check fails."""
import pytest

from directory_fixtures import Authority
from pli.core.cli import main
from pli.core.directory import load_directory, trust_anchor
from pli.core.directory.keyfile import write_key_file
from pli.core.directory.directory import Directory
from pli.core.directory.entry import DirectoryEntry
from pli.core.directory.local import anchor_path, installed_path
from pli.core.home import Home

ENTRY = DirectoryEntry(id="10000000017", kind="person", name="Dr Hélène Arnaud", town="Lyon",
                       addresses=("h.arnaud@pli.test",))


@pytest.fixture
def authority(tmp_path):
    authority = Authority()
    write_key_file(tmp_path / "authority.pub", [authority.public])
    (tmp_path / "directory.pli").write_bytes(authority.sign([ENTRY]))
    return authority


def init(tmp_path, capsys, *args) -> tuple[int, str]:
    code = main(["--home", str(tmp_path / "home"), "init", *[str(a) for a in args]])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_init_trusts_the_authority_key_file_and_installs_its_directory(tmp_path, capsys, authority):
    code, out = init(tmp_path, capsys, "--trust-authority", tmp_path / "authority.pub",
                     "--directory", tmp_path / "directory.pli")
    assert code == 0, out
    home = Home(tmp_path / "home")
    assert trust_anchor(home) == authority.public
    assert load_directory(home).by_address("h.arnaud@pli.test").name == "Dr Hélène Arnaud"
    assert authority.public.fingerprint in out


def test_a_directory_file_alone_needs_its_signer_confirmed(tmp_path, capsys, authority):
    code, out = init(tmp_path, capsys, "--directory", tmp_path / "directory.pli")
    assert code != 0 and authority.public.fingerprint in out and "--authority-fingerprint" in out
    assert not anchor_path(Home(tmp_path / "home")).exists()
    code, out = init(tmp_path, capsys, "--directory", tmp_path / "directory.pli",
                     "--authority-fingerprint", authority.public.fingerprint.upper())
    assert code == 0, out
    assert trust_anchor(Home(tmp_path / "home")) == authority.public
    assert len(load_directory(Home(tmp_path / "home"))) == 1


def test_a_wrong_fingerprint_trusts_and_installs_nothing(tmp_path, capsys, authority):
    code, out = init(tmp_path, capsys, "--directory", tmp_path / "directory.pli", "--authority-fingerprint", "00" * 16)
    assert code != 0 and "nothing trusted" in out
    assert not anchor_path(Home(tmp_path / "home")).exists()
    assert not installed_path(Home(tmp_path / "home")).exists()


def test_a_directory_signed_by_another_authority_is_refused_before_anything_is_written(tmp_path, capsys, authority):
    (tmp_path / "forged.pli").write_bytes(Authority().sign([ENTRY]))
    code, out = init(tmp_path, capsys, "--trust-authority", tmp_path / "authority.pub",
                     "--directory", tmp_path / "forged.pli")
    assert code != 0 and "another directory authority" in out
    assert not anchor_path(Home(tmp_path / "home")).exists()


def test_a_tampered_directory_is_refused(tmp_path, capsys, authority):
    data = (tmp_path / "directory.pli").read_bytes().replace("Hélène".encode(), "Helena".encode())
    (tmp_path / "tampered.pli").write_bytes(data)
    code, out = init(tmp_path, capsys, "--trust-authority", tmp_path / "authority.pub",
                     "--directory", tmp_path / "tampered.pli")
    assert code != 0 and "signature" in out
    assert not installed_path(Home(tmp_path / "home")).exists()


def test_rerunning_init_keeps_the_anchor_and_refuses_to_swap_it_silently(tmp_path, capsys, authority):
    assert init(tmp_path, capsys, "--trust-authority", tmp_path / "authority.pub")[0] == 0
    assert init(tmp_path, capsys, "--trust-authority", tmp_path / "authority.pub")[0] == 0
    other = Authority()
    write_key_file(tmp_path / "other.pub", [other.public])
    code, out = init(tmp_path, capsys, "--trust-authority", tmp_path / "other.pub")
    assert code != 0 and "pli dir trust" in out
    assert trust_anchor(Home(tmp_path / "home")) == authority.public
    # a later directory of the trusted authority installs without confirming again
    (tmp_path / "next.pli").write_bytes(authority.sign([ENTRY]))
    assert init(tmp_path, capsys, "--directory", tmp_path / "next.pli")[0] == 0
    assert isinstance(load_directory(Home(tmp_path / "home")), Directory)
