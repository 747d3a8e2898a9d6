"""`pli lab export --query QUERY -o FOLDER`: a query's lab reports into a folder from the shell, each export traced."""
from __future__ import annotations

import base64
import os
import shutil
import signal
import stat
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from pli.core.plural import counted
from pli.core.audit import steps_of
from pli.core.cli import main
from pli.core.home import Home
from pli.core.lab import reports_in_bytes
from pli.core.store import Store
from pli.core.store.trace_steps import envelope_ids

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory):
    """The generated demo home: sealed lab mail (otp and stream), notes, quarantined mails."""
    from pli.core.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo") / "home", size=40, seed=3, now=NOW)


@pytest.fixture
def home(demo_source, tmp_path, monkeypatch) -> Home:
    """A private copy of the demo home (each test writes its trace), its passphrase file exported."""
    root = tmp_path / "home"
    shutil.copytree(demo_source.home.root, root, symlinks=True)
    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(root / demo_source.passphrase_file.name))
    return Home(root)


def export(capsys, home: Home, *argv: str) -> tuple[int, str, str]:
    """(exit status, stdout: the summary, stderr: progress and errors)."""
    status = main(["--home", str(home.root), "lab", "export", *argv])
    said = capsys.readouterr()
    return status, said.out, said.err


def matching(home: Home, notmuch_query: str) -> tuple[list[str], int]:
    """The ids a plain notmuch query selects, and how many reports they hold (read without pli's export)."""
    with Store.open(home) as store:
        ids = [row.message_id for row in store.window(notmuch_query, 0, 10_000)]
        return ids, sum(len(reports_in_bytes(store.read_clear(mid))) for mid in ids)


def exported_steps(home: Home, message_ids: list[str]) -> dict[str, list]:
    """The exported steps of each message, found under the name the trace gives it (envelope id when sealed)."""
    with Store.open(home) as store:
        names = envelope_ids(store, message_ids)
    return {mid: [e for e in steps_of(home, names.get(mid, mid)) if e.step == "exported"] for mid in message_ids}


def trace_length(home: Home) -> int:
    journal = home.trace / "journal"
    return len(journal.read_bytes().splitlines()) if journal.exists() else 0


def test_the_query_shortcuts_select_the_messages_and_each_report_is_a_private_file(home, tmp_path, capsys):
    ids, reports = matching(home, "tag:lab and tag:abnormal")
    assert len(ids) >= 5
    status, out, err = export(capsys, home, "--fhir", "--query", "lab and abnormal", "-o", str(tmp_path / "out"))
    assert status == 0
    files = sorted((tmp_path / "out").iterdir())
    assert len(files) == reports and all(f.suffix == ".json" for f in files)
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert out.splitlines() == [f"exported {counted(reports, 'report')} as FHIR to {tmp_path / 'out'}"]


def test_each_exported_message_gets_one_signed_step_and_the_trace_verifies(home, tmp_path, capsys):
    ids, _ = matching(home, "tag:lab and tag:abnormal")
    assert export(capsys, home, "--hprim", "--query", "lab and abnormal", "-o", str(tmp_path / "out"))[0] == 0
    steps = exported_steps(home, ids)
    assert all(len(found) == 1 for found in steps.values()), steps
    assert {e.details["target"] for found in steps.values() for e in found} == {"hprim"}
    assert {e.details.get("mid", e.message) for found in steps.values() for e in found} == set(ids)
    assert main(["--home", str(home.root), "audit", "verify"]) == 0


def test_a_second_run_adds_no_copy_and_says_the_reports_are_already_there(home, tmp_path, capsys):
    out = tmp_path / "out"
    assert export(capsys, home, "--fhir", "--query", "lab and abnormal", "-o", str(out))[0] == 0
    before = {f.name: f.read_bytes() for f in out.iterdir()}
    status, summary, _ = export(capsys, home, "--fhir", "--query", "lab and abnormal", "-o", str(out))
    assert status == 0 and {f.name: f.read_bytes() for f in out.iterdir()} == before
    assert summary.splitlines() == [f"exported 0 reports as FHIR to {out}; "
                                    f"{len(before)} already there (not copied again)"]


def test_messages_without_report_are_counted_not_failed(home, tmp_path, capsys):
    ids, reports = matching(home, "*")
    with Store.open(home) as store:
        with_report = [mid for mid in ids if reports_in_bytes(store.read_clear(mid))]
    status, out, err = export(capsys, home, "--fhir", "--query", "*", "-o", str(tmp_path / "out"))
    assert status == 0 and len(list((tmp_path / "out").iterdir())) == reports
    assert out.splitlines()[-1].endswith("; " + counted(len(ids) - len(with_report), "message without a lab report",
                                                          "messages without a lab report"))
    assert all(len(found) == 1 for found in exported_steps(home, with_report).values())
    assert not any(exported_steps(home, [mid for mid in ids if mid not in with_report]).values())


def test_ctrl_c_stops_after_the_message_in_hand_traces_what_was_written_and_exits_130(
        home, tmp_path, capsys, monkeypatch):
    read_clear = Store.read_clear
    reads = []

    def interrupted_on_the_second(store, message_id):
        reads.append(message_id)
        if len(reads) == 2:
            os.kill(os.getpid(), signal.SIGINT)   # what Ctrl-C sends, while this message is in hand
        return read_clear(store, message_id)

    monkeypatch.setattr(Store, "read_clear", interrupted_on_the_second)
    # Ctrl-C as in a terminal: a job started in the background by a script (as CI starts the pure run) has it
    # ignored, and the export then rightly gives back that 'ignored'.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        status, out, err = export(capsys, home, "--fhir", "--query", "lab", "-o", str(tmp_path / "out"))
        assert status == 130 and len(reads) == 2    # the second message was finished, no third begun
        files = len(list((tmp_path / "out").iterdir()))
        assert out.splitlines()[-1] == \
            f"export stopped: {counted(files, 'report')} written to {tmp_path / 'out'} stay there"
        steps = exported_steps(home, reads)
        assert files >= 2 and all(len(found) == 1 for found in steps.values())
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler   # Ctrl-C interrupts again afterwards
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_query_notmuch_cannot_parse_is_one_line_and_nothing_is_written(home, tmp_path, capsys):
    before = trace_length(home)
    status, out, err = export(capsys, home, "--fhir", "--query", "tag:lab and", "-o", str(tmp_path / "out"))
    assert status == 2 and len(err.splitlines()) == 1
    assert err.startswith("pli: notmuch cannot parse the query 'tag:lab and'; check")
    assert not (tmp_path / "out").exists() and trace_length(home) == before


def test_a_query_matching_nothing_is_one_line_saying_what_to_try(home, tmp_path, capsys):
    status, out, err = export(capsys, home, "--fhir", "--query", "patient:nobody-has-this-name", "-o", str(tmp_path))
    assert status == 1 and len(err.splitlines()) == 1
    assert "no stored message matches" in err and "pli search" in err


def test_a_folder_that_cannot_be_written_is_one_line_and_no_step(home, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    before = trace_length(home)
    status, out, err = export(capsys, home, "--fhir", "--query", "lab", "-o", str(blocker / "out"))
    assert status == 1 and len(err.splitlines()) == 1
    assert err.startswith(f"pli: cannot export to {blocker / 'out'}: ") and "choose another folder" in err
    assert trace_length(home) == before


def test_a_trace_that_cannot_be_written_is_said_in_one_line_and_the_files_stay(home, tmp_path, capsys):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    (home.trace / "signers").write_text(f"ed25519 {base64.b64encode(other).decode()} someone else\n")
    status, out, err = export(capsys, home, "--fhir", "--query", "lab and abnormal", "-o", str(tmp_path / "out"))
    files = len(list((tmp_path / "out").iterdir()))
    assert status != 0 and files > 0
    last = err.splitlines()[-1]
    assert last.startswith("pli: the exported steps of ") and "the files stay" in last


@pytest.mark.parametrize("argv, says", [
    (["--fhir", "--query", "lab"], "give -o FOLDER"),
    (["--fhir", "--query", "lab", "-o", "x", "some.eml"], "not both"),
    (["--hprim", "--query", "lab", "--drop"], "--drop"),
    (["--fhir"], "what to export?"),
])
def test_a_query_export_asked_wrongly_is_a_usage_error(home, capsys, argv, says):
    status, out, err = export(capsys, home, *argv)
    assert status == 2 and len(err.splitlines()) == 1 and says in err


def test_the_command_in_a_pipe_prints_plain_progress_lines_then_the_summary(home, tmp_path):
    run = subprocess.run([sys.executable, "-m", "pli.tui.launcher", "--home", str(home.root), "lab", "export",
                          "--hprim", "--query", "lab and abnormal", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120, env={**os.environ, "PLI_DEBUG": ""})
    ids, reports = matching(home, "tag:lab and tag:abnormal")
    lines = run.stderr.splitlines()
    assert run.returncode == 0 and lines[-1].startswith(f"exported {len(ids)}/{len(ids)} (") and "\r" not in run.stderr
    assert run.stdout == f"exported {counted(reports, 'report')} as HPRIM to {tmp_path / 'out'}\n"   # the report


def test_a_message_that_cannot_be_read_is_named_in_the_summary_and_the_exit_says_so(home, tmp_path, capsys):
    ids, _ = matching(home, "tag:lab and tag:abnormal")
    with Store.open(home) as store:
        store.clear_path(ids[0]).unlink()            # a damaged store: the index names a file that is gone
    status, out, err = export(capsys, home, "--fhir", "--query", "lab and abnormal", "-o", str(tmp_path / "out"))
    assert status == 1
    assert out.splitlines()[-1].endswith(f"; 1 message could not be read: {ids[0]} "
                                         "(cannot be read from the store; run `pli doctor`)")
    assert not exported_steps(home, ids[:1])[ids[0]] and all(exported_steps(home, ids[1:]).values())
