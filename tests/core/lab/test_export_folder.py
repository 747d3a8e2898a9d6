"""Exporting the reports of stored messages into a folder: one file per report, never one lost or replaced."""
from __future__ import annotations

import email
import email.policy
import json
import os
import stat
from datetime import datetime, timezone

import pytest

from pli.core.plural import counted
from pli.core.lab import reports_in_bytes, reports_in_mail
from pli.core.lab.export import export_report
from pli.core.lab.export_folder import ExportFolderError, export_to_folder, file_stem
from pli.core.lab.generator import generate
from pli.core.store import Store
from tests.core.store_fixtures import make_home, plain_mail

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
PREFIX = "r" * 60   # two lab ids sharing their first 60 characters


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The generated demo home: sealed lab mail (otp and stream), notes, quarantined mails."""
    from pli.core.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("demo") / "home", size=40, seed=3, now=NOW).home


@pytest.fixture(scope="module")
def store(demo):
    with Store.open(demo) as opened:
        yield opened


@pytest.fixture(scope="module")
def all_ids(store):
    return [row.message_id for row in store.window("*", 0, 1000)]


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """A store with two lab mails whose Message-IDs share their first 60 characters, and a plain mail.

    Mail pli imports is stored under ids of its own (docs/STORE.md, "Identity"), which never share
    60 characters; these are dropped into the Maildir by hand and indexed as `notmuch new` would
    (and as an older pli kept them), under the ids their senders chose."""
    from pli.core.store import database
    from pli.core.store.layout import Layout

    root = tmp_path_factory.mktemp("twins")
    layout = Layout(make_home(root))
    mails = []
    for message, last in zip(generate(2, seed=5), "ab"):
        mails.append(message.inner_bytes.replace(f"Message-ID: {message.message_id}".encode(),
                                                 f"Message-ID: <{PREFIX}{last}@lab.example>".encode()))
    mails.append(plain_mail(1))
    with database.open_write(layout) as db:
        for number, mail in enumerate(mails):
            path = layout.folder("inbox") / "cur" / f"by-hand-{number}:2,"
            path.write_bytes(mail)
            db.add(str(path), sync_flags=False)
    with Store.open(layout.home) as opened:
        yield opened


def folder_state(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_the_byte_path_finds_the_same_reports_as_the_tui_reader_on_the_demo(store, all_ids):
    lab = 0
    for message_id in all_ids:
        raw = store.read_clear(message_id)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)   # what the TUI reads
        assert reports_in_bytes(raw) == reports_in_mail(parsed), message_id
        lab += bool(reports_in_mail(parsed))
    assert lab >= 30


def test_every_report_becomes_a_private_file_and_the_rest_is_reported(store, all_ids, tmp_path):
    done = []
    result = export_to_folder(store, all_ids, "fhir", tmp_path / "out", progress=lambda d, t: done.append((d, t)))
    reports = {mid: reports_in_bytes(store.read_clear(mid)) for mid in all_ids}
    assert result.files == sum(len(r) for r in reports.values()) == len(list((tmp_path / "out").iterdir()))
    assert result.message_ids == [mid for mid in all_ids if reports[mid]]
    assert result.without_report == [mid for mid in all_ids if not reports[mid]]   # notes, quarantined mail
    assert result.without_report and not result.unreadable and not result.already
    assert done[-1] == (len(all_ids), len(all_ids)) and len(done) == len(all_ids)
    for path in result.written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert json.loads(path.read_bytes())["resourceType"] == "Bundle"
    first = result.message_ids[0]
    assert (tmp_path / "out" / f"{file_stem(first)}-1.json").read_bytes() == \
        export_report(reports[first][0], "fhir")[0]


def test_exporting_twice_into_a_folder_keeps_every_file_and_adds_no_copy(store, all_ids, tmp_path):
    folder = tmp_path / "out"
    first = export_to_folder(store, all_ids, "hprim", folder)
    before = folder_state(folder)
    again = export_to_folder(store, all_ids, "hprim", folder)
    assert again.files == 0 and sorted(again.already) == sorted(first.written)
    assert again.message_ids == first.message_ids        # still traced: the reports are in the folder
    assert folder_state(folder) == before


def test_a_file_changed_since_the_last_export_is_kept_and_the_report_written_beside_it(store, all_ids, tmp_path):
    folder = tmp_path / "out"
    first = export_to_folder(store, all_ids, "fhir", folder)
    edited = first.written[0]
    edited.write_bytes(b'{"edited": "by the secretary"}')
    before = folder_state(folder)
    again = export_to_folder(store, all_ids, "fhir", folder)
    beside = edited.with_name(edited.name.replace(".json", "-2.json"))
    assert again.written == [beside]
    assert beside.read_bytes() != b'{"edited": "by the secretary"}'
    after = folder_state(folder)
    assert {name: after[name] for name in before} == before     # nothing there before was touched


def test_other_formats_land_beside_each_other(store, all_ids, tmp_path):
    fhir = export_to_folder(store, all_ids, "fhir", tmp_path)
    hprim = export_to_folder(store, all_ids, "hprim", tmp_path)
    assert fhir.files == hprim.files > 0
    assert len(list(tmp_path.iterdir())) == 2 * fhir.files


def test_two_ids_sharing_their_first_60_characters_get_a_file_each(twins, tmp_path):
    ids = [f"{PREFIX}a@lab.example", f"{PREFIX}b@lab.example"]
    assert file_stem(ids[0]) == file_stem(ids[1])
    result = export_to_folder(twins, ids, "fhir", tmp_path)
    assert result.message_ids == ids and result.files == 2
    a, b = result.written
    assert (a.name, b.name) == (f"{PREFIX}-1.json", f"{PREFIX}-1-2.json")
    assert a.read_bytes() == export_report(reports_in_bytes(twins.read_clear(ids[0]))[0], "fhir")[0]
    assert b.read_bytes() == export_report(reports_in_bytes(twins.read_clear(ids[1]))[0], "fhir")[0]
    again = export_to_folder(twins, ids, "fhir", tmp_path)   # each message finds its own file again
    assert again.files == 0 and again.already == [a, b]


def test_a_message_without_report_or_gone_is_reported_not_skipped(twins, tmp_path):
    result = export_to_folder(twins, ["plain1@example.org", "gone@example.org"], "fhir", tmp_path)
    assert result.without_report == ["plain1@example.org"]
    assert [s.message_id for s in result.unreadable] == ["gone@example.org"]
    assert "gone@example.org" not in result.unreadable[0].reason
    assert result.files == 0 and result.message_ids == [] and list(tmp_path.iterdir()) == []


def test_the_summary_counts_each_outcome_and_names_the_unreadable_up_to_a_limit(twins, tmp_path):
    ids = [f"{PREFIX}a@lab.example", "plain1@example.org", "gone1@example.org", "gone2@example.org"]
    result = export_to_folder(twins, ids, "fhir", tmp_path)
    line = result.summary("fhir", tmp_path, named=1)
    assert line.startswith(f"exported {counted(result.files, 'report')} as FHIR to {tmp_path}") and "\n" not in line
    assert "; 1 message without a lab report;" in line
    assert "2 messages could not be read: gone1@example.org (" in line and line.endswith(" and 1 more")
    assert "gone2@example.org" not in line and "gone" not in result.summary("fhir", tmp_path)
    again = export_to_folder(twins, ids, "fhir", tmp_path).summary("fhir", tmp_path)
    assert again.startswith("exported 0 reports") and f"{result.files} already there" in again


def test_a_stopped_export_keeps_what_it_wrote_and_says_so(store, all_ids, tmp_path):
    lab_ids = [mid for mid in all_ids if reports_in_bytes(store.read_clear(mid))]
    done = []
    result = export_to_folder(store, lab_ids, "fhir", tmp_path, progress=lambda d, t: done.append(d),
                              stopped=lambda: len(done) >= 2)
    assert result.stopped and done == [1, 2] and result.message_ids == lab_ids[:2]
    assert sorted(tmp_path.iterdir()) == sorted(result.written)


def test_a_folder_that_cannot_be_made_is_one_error_for_the_user(store, all_ids, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    with pytest.raises(ExportFolderError, match="cannot export to .*choose another folder") as caught:
        export_to_folder(store, all_ids, "fhir", blocker / "out")
    assert caught.value.partial.files == 0


def test_a_full_disk_stops_the_export_and_keeps_the_files_written(store, all_ids, tmp_path, monkeypatch):
    import errno

    from pli.core.lab import export_folder

    written = []

    def fill_after_two(path, data, mode=0o600):
        if len(written) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written.append(path)
        path.write_bytes(data)
        return True

    monkeypatch.setattr(export_folder, "write_new", fill_after_two)
    with pytest.raises(ExportFolderError, match="disk is full") as caught:
        export_to_folder(store, all_ids, "fhir", tmp_path)
    assert caught.value.partial.written == written and len(written) == 2
