"""-o/--output everywhere a command prints a report (issue 15, point 6): the file gets the very bytes stdout
would have had, written whole and private (0600), stdout stays empty, the exit status and what goes to stderr
(progress, the verified sender, errors) do not change.  Run on a real demo home (keyring, pads, sealed lab
results in a notmuch store, a signed trace), through `pli` in a subprocess."""
from __future__ import annotations

import os
import stat
import subprocess
from datetime import datetime, timezone

import pytest

from pli.core.demo import build_demo
from pli.core.store.store import Store

from transport_fixtures import PLI

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("demo") / "home", size=6, seed=3, now=NOW)


def pli(demo, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    env = dict(os.environ, PLI_PASSPHRASE_FILE=str(demo.passphrase_file))
    return subprocess.run([*PLI, "--home", str(demo.home.root), *args], input=stdin, capture_output=True,
                          env=env, timeout=120)


def lab_message(demo) -> str:
    with Store.open(demo.home) as store:
        return store.window("tag:lab", 0, 1)[0].message_id


def sealed_file(demo) -> str:
    return str(next(p for p in sorted((demo.home.root / "sealed").rglob("*")) if p.is_file()))


REPORTS = [
    ["search", "tag:lab"],
    ["search", "--format", "json", "tag:lab"],
    ["show", "{id}"],
    ["show", "--summary", "{id}"],
    ["lab", "show", "{id}"],
    ["lab", "export", "--fhir", "{id}"],
    ["lab", "export", "--hprim", "{id}"],
    ["open", "{sealed}"],
    ["keys", "show"],
    ["keys", "export-public"],
    ["keys", "group-export-public", "secretariat@cabinet-tilleuls.example"],
    ["pad", "status"],
    ["audit", "show", "{id}"],
    ["audit", "verify"],
    ["new"],
    ["doctor"],
]


@pytest.mark.parametrize("argv", REPORTS, ids=" ".join)
def test_o_writes_what_stdout_would_have_had_and_nothing_else_changes(demo, tmp_path, argv):
    argv = [a.format(id=lab_message(demo), sealed=sealed_file(demo)) for a in argv]
    printed = pli(demo, *argv)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip()
    report = tmp_path / "report"
    written = pli(demo, *argv, "-o", str(report))
    assert (written.returncode, written.stdout) == (0, b"")
    assert report.read_bytes() == printed.stdout
    assert stat.S_IMODE(report.stat().st_mode) == 0o600            # reports may name patients
    assert written.stderr == printed.stderr


def test_o_replaces_a_previous_report_whole(demo, tmp_path):
    report = tmp_path / "report"
    report.write_bytes(b"an older, longer report\n" * 1000)
    assert pli(demo, "keys", "show", "--output", str(report)).returncode == 0
    assert report.read_bytes() == pli(demo, "keys", "show").stdout


def test_seal_o_writes_the_sealed_mail_that_open_reads_back(demo, tmp_path):
    sealed = tmp_path / "sealed.eml"
    done = pli(demo, "seal", "--to", "claire.martin@cabinet-demo.example", "-o", str(sealed),
               stdin=b"Subject: K+ 6.8\r\n\r\nrecheck tomorrow\r\n")
    assert (done.returncode, done.stdout) == (0, b""), done.stderr
    opened = tmp_path / "opened.eml"
    done = pli(demo, "open", str(sealed), "-o", str(opened))
    assert (done.returncode, done.stdout) == (0, b""), done.stderr
    assert b"verified: from Dr Claire Martin" in done.stderr
    assert b"recheck tomorrow" in opened.read_bytes()


def test_a_command_that_fails_writes_no_report(demo, tmp_path):
    report = tmp_path / "report"
    done = pli(demo, "show", "no-such-message@pli.invalid", "-o", str(report))
    assert done.returncode != 0 and done.stdout == b"" and b"Traceback" not in done.stderr
    assert not report.exists()


def test_a_report_that_cannot_be_written_is_one_line_and_exit_2(demo, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    done = pli(demo, "keys", "show", "-o", str(tmp_path / "a-file" / "report"))
    assert done.returncode == 2 and done.stdout == b""
    [line] = done.stderr.decode().splitlines()
    assert line.startswith("pli: cannot write ") and "a-file/report" in line


@pytest.mark.parametrize("option", ["-o", "--output", "--out"])      # --out: the old spelling, still taken
@pytest.mark.parametrize("argv, made", [
    (["pad", "new", "--with", "hugo.bernard@cabinet-demo.example", "--size", "64K"], "pad-*-for-hugo.bernard@*"),
    (["keys", "group-export", "secretariat@cabinet-tilleuls.example", "--to", "hugo.bernard@cabinet-demo.example"],
     "group-secretariat@*-for-hugo.bernard@*"),
])
def test_commands_that_write_files_into_a_folder_take_it_as_o(demo, tmp_path, argv, made, option):
    folder = tmp_path / "for-hugo"
    done = pli(demo, *argv, option, str(folder))
    assert done.returncode == 0, done.stderr
    [path] = folder.glob(made)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_size > 0
    assert f"wrote {path}".encode() in done.stdout


def test_pad_new_needs_its_folder(demo):
    done = pli(demo, "pad", "new", "--with", "hugo.bernard@cabinet-demo.example", "--size", "64K")
    assert done.returncode == 2 and b"-o/--output" in done.stderr and b"Traceback" not in done.stderr


def test_o_naming_a_folder_is_refused_and_leaves_no_stray_copy_of_the_report(demo, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    done = pli(demo, "keys", "show", "-o", str(folder))
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode().splitlines() == [f"pli: cannot write {folder}: it is a folder; name a file in it"]
    assert list(folder.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


def test_seal_o_naming_a_folder_is_refused_before_anything_is_sealed(demo, tmp_path):
    ledger = sorted((p, p.read_bytes()) for p in (demo.home.root / "pads").rglob("*") if p.is_file())
    done = pli(demo, "seal", "--to", "claire.martin@cabinet-demo.example", "-o", str(tmp_path),
               stdin=b"Subject: x\r\n\r\ny\r\n")
    assert done.returncode == 2 and done.stderr.decode().startswith(f"pli: cannot write {tmp_path}: it is a folder")
    assert sorted((p, p.read_bytes()) for p in (demo.home.root / "pads").rglob("*") if p.is_file()) == ledger
