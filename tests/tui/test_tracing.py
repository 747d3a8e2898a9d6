"""Triage and export in the TUI write signed trace steps: one per message, batched, in the order of the actions."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pli.core.audit import steps_of, verify
from pli.core.mail.tracing import TraceQueue, triage_batches
from pli.core.mail.triage import plan
from pli.core.store.trace_steps import TraceBatch, steps_for
from pli.tui.screens.main import MainScreen
from pli.tui.widgets.message_list import MessageList

SIZE = (120, 40)


@dataclass(frozen=True)
class Row:
    message_id: str
    tags: frozenset


def test_archiving_traces_only_the_messages_that_left_the_inbox():
    rows = [Row("a@x", frozenset({"inbox"})), Row("b@x", frozenset({"inbox", "unread"})), Row("c@x", frozenset())]
    batches = triage_batches(plan("archive", rows, remove=frozenset({"inbox"})))
    assert batches == [TraceBatch("archived", ("a@x", "b@x"))]


def test_tagging_deleted_is_a_deleted_step_and_flagging_is_no_step():
    rows = [Row("a@x", frozenset({"inbox"}))]
    assert triage_batches(plan("t", rows, add=frozenset({"deleted"}))) == [TraceBatch("deleted", ("a@x",))]
    assert triage_batches(plan("f", rows, add=frozenset({"flagged"}))) == []
    assert triage_batches(plan("undo", rows, add=frozenset({"inbox"}))) == []


def test_an_id_the_trace_cannot_hold_is_left_out_not_the_batch():
    steps, left_out = steps_for(TraceBatch("exported", ("good@x", "bad id with spaces"), {"target": "fhir"}),
                                "dr@example.org")
    assert [s.message_id for s in steps] == ["good@x"] and left_out == 1
    assert steps[0].details == {"target": "fhir"}


def test_a_sealed_message_is_traced_by_its_envelope_id_with_its_message_id_as_mid():
    steps, _ = steps_for(TraceBatch("archived", ("a@x", "plain@x")), "dr@example.org", {"a@x": "E123"})
    assert [(s.message_id, s.details) for s in steps] == [("E123", {"mid": "a@x"}), ("plain@x", {})]


def test_trace_queue_is_first_in_first_out_with_one_drainer():
    queue = TraceQueue()
    assert queue.put(TraceBatch("read", ("a@x",))) is True      # the caller starts the drainer
    assert queue.put(TraceBatch("archived", ("a@x",))) is False  # it is running: it will take this one
    assert [queue.take().step, queue.take().step] == ["read", "archived"]
    assert queue.take() is None                                  # the drainer stops ...
    assert queue.put(TraceBatch("read", ("b@x",))) is True       # ... so the next batch starts a new one


def test_the_queue_says_it_is_draining_until_a_drainer_found_it_empty():
    """What the read receipt waits on: a drainer may be an export's thread, not a trace worker."""
    queue = TraceQueue()
    assert not queue.draining
    queue.put(TraceBatch("exported", ("a@x",)))
    assert queue.draining
    queue.take()
    assert queue.draining          # the batch is taken, not yet written
    assert queue.take() is None and not queue.draining


def audit_verify(home) -> subprocess.CompletedProcess:
    """`pli audit verify` run as the user would, in its own process."""
    return subprocess.run([sys.executable, "-m", "pli.tui.launcher", "--home", str(home.root), "audit", "verify"],
                          capture_output=True, text=True, env={**os.environ}, timeout=120)


async def main_list(app, pilot) -> MessageList:
    await pilot.pause()
    assert isinstance(app.screen, MainScreen)
    return app.screen.query_one(MessageList)


@pytest.mark.asyncio
async def test_archiving_a_selection_records_one_archived_step_per_message_after_its_read(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await main_list(app, pilot)
        first, second = messages.summary_at(0), messages.summary_at(1)
        await pilot.press("enter")          # read the first one: its read step comes first
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("g", "space", "space", "a")
        await pilot.pause()
        await app.workers.wait_for_complete()
    for summary in (first, second):
        assert [e.step for e in steps_of(demo, summary.message_id)][-1] == "archived"
    assert [e.step for e in steps_of(demo, first.message_id)][-2:] == ["read", "archived"]
    entry, opened = steps_of(demo, second.message_id)[-1], steps_of(demo, second.message_id)[0]
    assert opened.step == "opened-verified"  # the importer's step: the same envelope id names both
    assert entry.message == opened.message and entry.details["mid"] == second.message_id
    assert entry.actor == "claire.martin@cabinet-demo.example"
    assert verify(demo).entries >= 3
    result = audit_verify(demo)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.asyncio
async def test_undo_of_an_archive_adds_no_step(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await main_list(app, pilot)
        target = messages.current
        await pilot.press("a", "u")
        await pilot.pause()
        await app.workers.wait_for_complete()
    assert [e.step for e in steps_of(demo, target.message_id)].count("archived") == 1


@pytest.mark.asyncio
async def test_exporting_reports_records_an_exported_step_per_message(demo, make_app, tmp_path):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await main_list(app, pilot)
        await pilot.press("slash", *"lab", "enter")
        await pilot.pause()
        chosen = [messages.summary_at(0), messages.summary_at(1)]
        await pilot.press("space", "space", "e")
        await pilot.pause()
        app.screen.query_one("#export-folder").value = str(tmp_path / "export")
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()   # the export's thread worker writes the steps before it ends
    assert len(list((tmp_path / "export").iterdir())) >= 2
    for summary in chosen:
        exported = [e for e in steps_of(demo, summary.message_id) if e.step == "exported"]
        assert len(exported) == 1 and exported[0].details == {"target": "fhir", "mid": summary.message_id}
    result = audit_verify(demo)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.asyncio
async def test_without_the_passphrase_an_archive_is_done_and_said_untraced(demo, make_app, monkeypatch):
    monkeypatch.delenv("PLI_PASSPHRASE_FILE")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await main_list(app, pilot)
        target = messages.current
        await pilot.press("a")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        said = [n.message for n in app._notifications]
    assert "archived" not in [e.step for e in steps_of(demo, target.message_id)]
    assert any("not traced (archived)" in text for text in said)


@pytest.mark.asyncio
async def test_a_trace_write_that_fails_unexpectedly_is_shown_and_later_steps_are_still_written(
        demo, make_app, monkeypatch):
    """An error that is not a PliError (a full disk, a bug) must not leave the queue marked busy
    with nobody writing it: the user is told, and the next action's steps are recorded."""
    import pli.core.audit as audit

    real = audit.home_journal
    failures = []

    def failing_once(home, keyring):
        if not failures:
            failures.append(1)
            raise OSError(28, "No space left on device")
        return real(home, keyring)

    monkeypatch.setattr(audit, "home_journal", failing_once)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await main_list(app, pilot)
        first, second = messages.summary_at(0), messages.summary_at(1)
        await pilot.press("a")              # archive the first: its trace write fails
        await pilot.pause()
        await app.workers.wait_for_complete()
        shown = [n.message for n in app._notifications]
        assert any("archived step not written (OSError)" in m for m in shown)
        await pilot.press("a")              # archive the next: written
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert not app._traces.draining
    archived = [s for s in (first, second) if "archived" in [e.step for e in steps_of(demo, s.message_id)]]
    assert archived == [second]


@pytest.mark.asyncio
async def test_a_cut_trace_is_a_security_line_and_is_not_continued(demo, make_app):
    """Someone removed the last entries: the TUI's next step is refused with a SECURITY line, the journal
    left as found (re-signing the head would have hidden the cut)."""
    from pli.core.audit.journal import journal_path

    lines = journal_path(demo).read_bytes().splitlines(keepends=True)
    journal_path(demo).write_bytes(b"".join(lines[:-2]))
    cut = journal_path(demo).read_bytes()
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await main_list(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = [(n.title, n.severity, n.message) for n in app._notifications]
    security = [s for s in shown if s[0] == "SECURITY"]
    assert security and security[0][1] == "error", shown
    assert security[0][2].startswith("SECURITY: the trace") and "\n" not in security[0][2]
    assert journal_path(demo).read_bytes() == cut
