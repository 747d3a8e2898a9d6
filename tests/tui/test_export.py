"""The export dialog runs the export in a thread worker: progress shows, Escape stops it, errors are one line."""
from __future__ import annotations

import asyncio
import threading

import pytest
from pilot_waits import workers_done
from textual.worker import NoActiveWorker, get_current_worker

from pli.core.plural import counted
from pli.core.audit import steps_of
from pli.core.lab import reports_in_bytes
from pli.core.store import Store
from pli.core.store.store import Store as StoreClass
from pli.tui.screens.export import ExportScreen
from pli.tui.screens.main import MainScreen

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)


def summaries(home, query: str, count: int) -> list:
    with Store.open(home) as store:
        return store.window(query, 0, count)


def report_count(home, summary) -> int:
    with Store.open(home) as store:
        return len(reports_in_bytes(store.read_clear(summary.message_id)))


def has_reports(home, summary) -> bool:
    return report_count(home, summary) > 0


def exported_steps(home, message_id: str) -> list:
    return [e for e in steps_of(home, message_id) if e.step == "exported"]


async def open_dialog(app, pilot, targets, folder) -> ExportScreen:
    await pilot.pause()
    assert isinstance(app.screen, MainScreen)
    app.push_screen(ExportScreen(targets))
    await pilot.pause()
    dialog = app.screen
    dialog.query_one("#export-folder").value = str(folder)
    return dialog


async def settled(app, pilot) -> None:
    """Until the export thread has written its trace steps and reported to the dialog.

    A cancelled thread worker counts as finished at once, while its thread still ends
    the message in hand: wait until the dialog has heard from it."""
    for _ in range(200):
        await workers_done(app)
        await pilot.pause(0.02)
        if not isinstance(app.screen, ExportScreen) or not app.screen.worker:
            break
    await workers_done(app)
    await pilot.pause()


def said(app) -> list[str]:
    return [n.message for n in app._notifications]


@pytest.fixture
def gate(monkeypatch):
    """Holds the export thread at its second message until the test lets it go (the UI thread is never held)."""
    release, reached = threading.Event(), threading.Event()
    real = StoreClass.read_clear
    reads = []

    def read_clear(store, message_id):
        # only the export's own reads: the preview, read-ahead and counts read in threads of their own too
        try:
            exporting = get_current_worker().group == "export"
        except NoActiveWorker:
            exporting = False
        if exporting:
            reads.append(message_id)
            if len(reads) == 2:
                reached.set()
                assert release.wait(30)
        return real(store, message_id)

    monkeypatch.setattr(StoreClass, "read_clear", read_clear)
    return release, reached


async def test_the_export_runs_in_a_worker_while_the_dialog_shows_progress(demo, make_app, tmp_path, gate):
    release, reached = gate
    targets = [s for s in summaries(demo, "tag:lab", 6) if has_reports(demo, s)][:3]
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(app, pilot, targets, tmp_path / "out")
        await pilot.press("enter")
        assert reached.wait(30)
        await pilot.pause(0.2)
        assert app.screen is dialog and dialog.running                # the UI is free: the worker holds the work
        assert [w.group for w in app.workers if not w.is_finished].count("export") == 1
        assert str(dialog.query_one("#export-progress").render()) == "exporting 1 / 3…"
        assert dialog.query_one("#export-folder").disabled           # no second export from the same dialog
        release.set()
        await settled(app, pilot)
        assert isinstance(app.screen, MainScreen)
        files = sum(report_count(demo, s) for s in targets)
        assert any(m.startswith(f"exported {counted(files, 'report')} as FHIR to") for m in said(app)), said(app)
    assert len(list((tmp_path / "out").iterdir())) == files
    for summary in targets:
        assert [e.details["target"] for e in exported_steps(demo, summary.message_id)] == ["fhir"]


async def test_escape_stops_the_export_and_keeps_and_traces_what_was_written(demo, make_app, tmp_path, gate):
    release, reached = gate
    targets = [s for s in summaries(demo, "tag:lab", 6) if has_reports(demo, s)][:3]
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(app, pilot, targets, tmp_path / "out")
        await pilot.press("enter")
        assert reached.wait(30)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is dialog                                  # waits for the thread to stop
        assert str(dialog.query_one("#export-progress").render()) == "stopping…"
        release.set()
        await settled(app, pilot)
        assert isinstance(app.screen, MainScreen)
        files = sum(report_count(demo, s) for s in targets[:2])   # the second was in hand: finished, then stop
        assert any(m.startswith(f"export stopped: {counted(files, 'report')} written") for m in said(app)), said(app)
    assert len(list((tmp_path / "out").iterdir())) == files
    assert [len(exported_steps(demo, s.message_id)) for s in targets] == [1, 1, 0]


async def test_quitting_during_an_export_stops_it_and_still_traces_the_files_written(demo, make_app, tmp_path,
                                                                                      gate):
    release, reached = gate
    targets = [s for s in summaries(demo, "tag:lab", 6) if has_reports(demo, s)][:3]
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(app, pilot, targets, tmp_path / "out")
        await pilot.press("enter")
        assert reached.wait(30)
        await pilot.press("ctrl+q")
    release.set()                                   # the thread ends the message in hand, with no UI left
    for _ in range(500):                            # the steps are written one message at a time:
        traced = [len(exported_steps(demo, s.message_id)) for s in targets]
        if sum(traced) >= 2:                        # wait for both, not for the first to appear
            break
        await asyncio.sleep(0.02)
    assert traced == [1, 1, 0]
    assert len(list((tmp_path / "out").iterdir())) == sum(report_count(demo, s) for s in targets[:2])


async def test_messages_without_report_are_counted_in_the_notification(demo, make_app, tmp_path):
    notes = [s for s in summaries(demo, "tag:note", 2) if not has_reports(demo, s)]
    lab = [s for s in summaries(demo, "tag:lab", 4) if has_reports(demo, s)][:1]
    assert notes and lab
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_dialog(app, pilot, lab + notes, tmp_path / "out")
        await pilot.press("enter")
        await settled(app, pilot)
        assert counted(len(notes), "message without a lab report", "messages without a lab report") in said(app)[-1]
    assert [len(exported_steps(demo, s.message_id)) for s in notes] == [0] * len(notes)


async def test_a_folder_that_cannot_be_written_is_one_line_and_the_dialog_stays(demo, make_app, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    targets = summaries(demo, "tag:lab", 2)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_dialog(app, pilot, targets, blocker / "out")
        await pilot.press("enter")
        await settled(app, pilot)
        assert app.screen is dialog and not dialog.query_one("#export-folder").disabled
        error = said(app)[-1]
        assert error.startswith(f"cannot export to {blocker / 'out'}:") and "\n" not in error
        dialog.query_one("#export-folder").value = str(tmp_path / "elsewhere")   # choose another folder
        await pilot.press("enter")
        await settled(app, pilot)
        assert isinstance(app.screen, MainScreen)
    assert len(list((tmp_path / "elsewhere").iterdir())) >= 2
