"""The TUI driven by keys through Textual's Pilot, over a real generated demo store."""
from __future__ import annotations

import pytest
from pilot_waits import settle

from pli.core.store import Store
from pli.core.store.query import expand
from pli.tui.screens.error import ErrorScreen
from pli.tui.screens.help import HelpScreen, bindings_table
from pli.tui.screens.lab import LabScreen
from pli.tui.screens.main import MainScreen
from pli.tui.screens.message import MessageScreen
from pli.tui.screens.patient import PatientScreen
from pli.tui.screens.trend import TrendScreen
from pli.tui.widgets.message_list import MessageList
from pli.tui.widgets.search_sidebar import SearchSidebar
from pli.tui.widgets.lab_table import LabTable
from pli.tui.widgets.verification_badge import VerificationBadge

SIZE = (120, 40)

pytestmark = pytest.mark.asyncio


def tags_of(home, message_id: str) -> frozenset:
    store = Store.open(home)
    try:
        return next(s.tags for s in store.window(f"id:{message_id}", 0, 1))
    finally:
        store.close()


def count(home, query: str) -> int:
    store = Store.open(home)
    try:
        return store.count(expand(query))
    finally:
        store.close()


async def started(app, pilot):
    await pilot.pause()
    assert isinstance(app.screen, MainScreen)
    return app.screen.query_one(MessageList)


async def test_inbox_opens_newest_first_with_live_counts(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        assert messages.total == count(demo, "tag:inbox") > 0
        first, second = messages.summary_at(0), messages.summary_at(1)
        assert first.date >= second.date
        await pilot.pause(0.2)
        sidebar = app.screen.query_one(SearchSidebar)
        assert sidebar.counts["Inbox"] == messages.total
        assert sidebar.counts["Critical"] == count(demo, "critical and tag:inbox")


async def test_archive_then_undo_restores_the_message(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        total = messages.total
        await pilot.press("j")
        target = messages.current
        await pilot.press("a")
        assert messages.total == total - 1
        assert "inbox" not in tags_of(demo, target.message_id)
        assert messages.current.message_id != target.message_id  # the next message slid into place
        await pilot.press("u")
        assert messages.total == total
        assert "inbox" in tags_of(demo, target.message_id)


async def test_a_selection_is_triaged_together_and_undone_together(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        first, second = messages.summary_at(0), messages.summary_at(1)
        await pilot.press("space", "space", "F")
        assert "flagged" in tags_of(demo, first.message_id)
        assert "flagged" in tags_of(demo, second.message_id)
        assert not messages.selected
        await pilot.press("u")
        assert "flagged" not in tags_of(demo, first.message_id)
        assert "flagged" not in tags_of(demo, second.message_id)


async def test_read_unread_toggles(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        target = messages.current
        was_unread = "unread" in target.tags
        await pilot.press("n")
        assert ("unread" in tags_of(demo, target.message_id)) is not was_unread


async def test_tag_completes_from_existing_tags(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        target = messages.current
        await pilot.press("t", *"follow", "enter")
        assert "follow" in tags_of(demo, target.message_id)
        await pilot.press("j", "t", *"fol")
        await pilot.pause()
        await pilot.press("right", "enter")  # accept the suggestion: "follow"
        assert "follow" in tags_of(demo, messages.summary_at(1).message_id)


async def test_search_with_a_shortcut_shows_only_matching_messages(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        await pilot.press("slash", *"critical", "enter")
        assert messages.total == count(demo, "critical") > 0
        assert all("critical" in messages.summary_at(i).tags for i in range(messages.total))
        assert app.focused is messages


async def test_a_bad_query_is_a_message_not_a_crash(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        total = messages.total
        await pilot.press("slash", *"date:notadate", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert messages.total == total  # the list still shows the inbox
        assert any(n.severity == "error" and n.title == "Search" for n in app._notifications)


async def _open_first_lab(app, pilot, query="critical"):
    await pilot.press("slash", *query, "enter", "L")
    await pilot.pause()
    assert isinstance(app.screen, LabScreen)
    return app.screen.query_one(LabTable)


async def test_lab_view_marks_abnormal_values_by_symbol_and_sorts_critical_first(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        table = await _open_first_lab(app, pilot)
        rows = table.rows_shown
        assert any(r.severity == "critical" for r in rows)
        assert all(r.symbol for r in rows if r.severity != "normal")
        await pilot.press("c")
        rows = [r for r in table.rows_shown if r.is_result]   # the lab's loose comments follow the results
        ranks = [{"critical": 0, "abnormal": 1, "unknown": 2, "normal": 3}[r.severity] for r in rows]
        assert ranks == sorted(ranks)


async def test_trend_plots_the_test_across_the_patients_reports(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        table = await _open_first_lab(app, pilot)
        await pilot.press("c")  # the critical test first
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TrendScreen)
        plot = app.screen.query_one("#trend-plot")
        assert len(plot.points) >= 1
        assert table.rows_shown[0].name in str(app.screen.query_one("#trend-title").render())


async def test_patient_view_lists_all_messages_of_the_patient(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        await pilot.press("slash", *"lab", "enter")
        summary = messages.current
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, PatientScreen)
        listed = app.screen.query_one(MessageList)
        assert listed.total == count(demo, f'tag:"patient:{summary.patient_key}"') >= 1
        dates = [listed.summary_at(i).date for i in range(listed.total)]
        assert dates == sorted(dates, reverse=True)


async def test_message_view_shows_the_signer_of_a_verified_message(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        await pilot.press("slash", *"tag:verified", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        badge = app.screen.query_one(VerificationBadge)
        assert badge.has_class("-verified") and not badge.has_class("-failed")
        assert "Signed by" in str(badge.render())
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        assert messages.total >= 1


async def test_a_quarantined_message_shows_a_failed_check_without_trusted_styling(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("slash", *"quarantine", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        badge = app.screen.query_one(VerificationBadge)
        assert badge.has_class("-failed") and not badge.has_class("-verified")
        assert "NOT VERIFIED" in str(badge.render())


async def test_a_missing_clear_file_is_a_notification(demo, make_app):
    from pathlib import Path

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        Path(messages.current.path).unlink()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert any("gone" in n.message or "cannot read" in n.message for n in app._notifications)


async def test_a_home_without_store_shows_an_error_screen(tmp_path, make_app):
    from pli.core.home import Home

    app = make_app(Home(tmp_path / "nothing-here"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        assert "no store" in app.screen.message
        await pilot.press("q")
    assert app.startup_error is not None


async def test_help_lists_the_triage_keys(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = bindings_table(app, app.screen.active)
        keys, descriptions = [list(map(str, c._cells)) for c in table.columns[:2]]
        for description, key in [("Archive", "a"), ("Undo", "u"), ("Tag", "t"), ("Search", "/"),
                                 ("Select", "space, v")]:
            assert keys[descriptions.index(description)] == key


async def test_configured_keys_replace_the_defaults(demo, make_app):
    (demo.config).write_text((demo.config.read_text() if demo.config.exists() else "")
                             + '\n[keys]\n"triage.archive" = "y"\n')
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        target = messages.current
        await pilot.press("a")
        assert "inbox" in tags_of(demo, target.message_id)
        await pilot.press("y")
        assert "inbox" not in tags_of(demo, target.message_id)


async def test_export_writes_fhir_bundles_for_the_selected_reports(demo, make_app, tmp_path):
    import json

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        await pilot.press("slash", *"lab", "enter", "space", "space", "e")
        await pilot.pause()
        field = app.screen.query_one("#export-folder")
        field.value = str(tmp_path / "export")
        await pilot.press("enter")
        await settle(app, pilot)  # the export runs in a thread worker
        assert isinstance(app.screen, MainScreen)
    files = sorted((tmp_path / "export").iterdir())
    assert len(files) >= 2
    bundle = json.loads(files[0].read_text())
    assert bundle["resourceType"] == "Bundle"


async def test_keys_typed_right_after_slash_land_in_the_search_bar(demo, make_app):
    """Over SSH "/critical<enter>" arrives in one read: no key may go to the list instead."""
    from textual import events

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        for char in "/critical":
            app.post_message(events.Key("slash" if char == "/" else char, char))
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)
        assert messages.total == count(demo, "critical")


async def test_changes_made_by_another_client_show_up_at_the_next_poll(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await started(app, pilot)
        total = messages.total
        other = Store.open(demo, writable=True)
        try:
            other.tag([messages.summary_at(3).message_id], remove=("inbox",))
        finally:
            other.close()
        await pilot.pause(1.2)  # the store reuses its read handle for a second (STALE_AFTER_SECONDS)
        app.screen.poll_store()
        await app.workers.wait_for_complete()  # the counts run in a thread
        await pilot.pause()
        assert messages.total == total - 1
        assert app.screen.query_one(SearchSidebar).counts["Inbox"] == total - 1


async def test_help_is_there_on_every_screen(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        await pilot.press("slash", *"critical", "enter", "L")
        await pilot.pause()
        assert isinstance(app.screen, LabScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = bindings_table(app, app.screen.active)
        assert "Trend" in [str(c) for c in table.columns[1]._cells]


async def test_opening_a_message_records_a_signed_read_step(demo, make_app):
    """Reading in the TUI is a step of the message's trace, and the trace still verifies."""
    from pli.core.audit import steps_of, verify

    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        opened = app.screen.summary.message_id
    steps = [e.step for e in steps_of(demo, opened)]
    assert steps[0] == "opened-verified" and steps[-1] == "read"
    assert verify(demo).entries >= 2
