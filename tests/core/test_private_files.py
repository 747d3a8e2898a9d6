"""Plaintext and secrets on disk are private to the user: the clear store and its index (0700), lab exports and
group secret files (0600, written atomically), and a passphrase file others can read is refused."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from crypto_fixtures import PASSPHRASE, people
from pli.core.cli import main
from pli.core.home import Home
from pli.core.lab.generator import generate


@pytest.fixture(autouse=True)
def open_umask():
    """The usual umask (022): whatever is private is so because pli made it so."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def passphrase(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(path))
    return path


# -- the clear store --------------------------------------------------------------------------------------------

def test_init_makes_the_mail_folder_and_the_index_private(tmp_path, capsys):
    home = Home(tmp_path / "home")
    assert main(["--home", str(home.root), "init"]) == 0
    assert mode(home.mail) == 0o700            # the clear messages
    assert mode(home.mail / ".notmuch") == 0o700  # the index holds their words


def test_rerunning_init_makes_an_older_stores_folders_private(tmp_path, capsys):
    home = Home(tmp_path / "home")
    assert main(["--home", str(home.root), "init"]) == 0
    (home.mail / ".notmuch").chmod(0o755)
    home.mail.chmod(0o755)
    assert main(["--home", str(home.root), "init"]) == 0
    assert mode(home.mail) == mode(home.mail / ".notmuch") == 0o700


# -- lab exports -----------------------------------------------------------------------------------------------

@pytest.fixture
def report(tmp_path) -> Path:
    message = generate(1, seed=5, patients=3)[0]
    path = tmp_path / message.filename
    path.write_bytes(message.payload)
    return path


def test_a_lab_export_to_a_file_is_private(tmp_path, capsys, report):
    target = tmp_path / "export.json"
    assert main(["--home", str(tmp_path / "home"), "lab", "export", "--fhir", str(report), "-o", str(target)]) == 0
    assert mode(target) == 0o600 and target.read_bytes().startswith(b"{")


def test_a_lab_export_replacing_a_file_is_atomic(tmp_path, capsys, report, monkeypatch):
    """A write that fails half-way (a full disk) leaves the old file whole, never a truncated one."""
    import pli.core.durable as durable

    target = tmp_path / "export.json"
    target.write_bytes(b"the previous export, whole")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(durable, "full_fsync", disk_full)
    status = main(["--home", str(tmp_path / "home"), "lab", "export", "--fhir", str(report), "-o", str(target)])
    assert status != 0
    assert target.read_bytes() == b"the previous export, whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["export.json", report.name])   # no temp left
    assert "No space left" in capsys.readouterr().err


def test_lab_export_drop_files_are_private(tmp_path, capsys, report):
    folder = tmp_path / "hprim-in"
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'[lab]\nhprim_folder = "{folder}"\n')
    assert main(["--home", str(home), "lab", "export", "--hprim", "--drop", str(report)]) == 0
    [dropped] = folder.iterdir()
    assert dropped.suffix == ".hpr" and mode(dropped) == 0o600


# -- group secrets and the passphrase ----------------------------------------------------------------------------

def test_group_export_files_are_private(tmp_path, capsys, passphrase, monkeypatch):
    alice, bob = people(tmp_path, "alice", "bob")
    # created private, not made private afterwards: with chmod doing nothing, the file is still 0600
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    monkeypatch.setattr(Path, "chmod", lambda *args, **kwargs: None)
    alice.create_group("cab-1", "cabinet@pli.test", "Cabinet")
    out = tmp_path / "out"
    assert main(["--home", str(alice.home.root), "keys", "group-export", "cabinet@pli.test",
                 "--to", "bob@pli.test", "--out", str(out)]) == 0
    [written] = out.iterdir()
    assert mode(written) == 0o600
    assert [p.name for p in out.iterdir()] == [written.name]          # no temp file left beside it


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604])
def test_a_passphrase_file_others_can_read_is_refused(tmp_path, capsys, passphrase, loose):
    alice, = people(tmp_path, "alice")
    passphrase.chmod(loose)
    status = main(["--home", str(alice.home.root), "pad", "status"])
    err = capsys.readouterr().err
    assert status == 5
    assert err.count("\n") == 1 and str(passphrase) in err and "chmod 600" in err


def test_a_private_passphrase_file_unlocks(tmp_path, capsys, passphrase):
    alice, = people(tmp_path, "alice")
    assert main(["--home", str(alice.home.root), "pad", "status"]) == 0
