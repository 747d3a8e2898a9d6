"""The sidebar's counts saved for the next start: shown in the first frame only while the index is unchanged."""
from __future__ import annotations

import json
import stat

import pytest

from pli.core.store import Store
from pli.core.store.query import expand
from pli.tui import saved_counts
from pli.tui.saved_counts import SavedCounts
from pli.tui.startup import Prefetch
from pli.tui.widgets.message_list import MessageList
from pli.tui.widgets.search_sidebar import SearchSidebar

from test_paging import FIXED_NOW


def test_counts_load_only_at_the_revision_they_were_counted_at(demo):
    with Store.open(demo) as store:
        revision = store.revision()
    saved_counts.save(demo, SavedCounts.of(revision, {"tag:inbox": 7}))
    assert saved_counts.load(demo, revision).get("tag:inbox") == 7
    assert saved_counts.load(demo, (revision[0] + 1, revision[1])) is None
    assert saved_counts.load(demo, (revision[0], "another-index")) is None
    path = demo.root / saved_counts.FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "tag:inbox" not in path.read_text()   # a saved search may name a patient: only its hash is kept


@pytest.mark.parametrize("damage", ["", "{", '{"revision": [1, "x"]}', '{"revision": 5, "counts": {}}',
                                    '{"revision": [1, "x"], "counts": {"a": -1}}', '[]'])
def test_a_damaged_file_is_a_cache_miss(demo, damage):
    (demo.root / saved_counts.FILE).write_text(damage)
    assert saved_counts.load(demo, (1, "x")) is None


async def started(demo, body) -> None:
    """pli started as the launcher starts it (the prefetch thread first), `body(app, pilot)` run in it."""
    from pli.tui.app import PliApp

    prefetch = Prefetch(demo, "tag:inbox", 64)
    prefetch.start()
    app = PliApp(demo, now=FIXED_NOW, prefetch=prefetch)
    async with app.run_test(size=(120, 40)) as pilot:
        await body(app, pilot)


def sidebar_and_list(app):
    return app.screen.query_one(SearchSidebar), app.screen.query_one(MessageList)


def expected_counts(demo, app) -> list[int]:
    with Store.open(demo) as store:
        return [store.count(expand(s.query)) for s in app.config.searches]


@pytest.mark.asyncio
async def test_the_second_start_draws_last_run_s_counts_in_its_first_frame(demo):
    async def first_run(app, pilot):
        sidebar, listed = sidebar_and_list(app)
        assert sidebar.known == (None,) * len(sidebar.searches)   # nothing saved yet: counted after
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [sidebar.counts.get(s.name) for s in sidebar.searches] == expected_counts(demo, app)

    async def second_run(app, pilot):
        sidebar, listed = sidebar_and_list(app)
        # before any worker ran: the figures, the list's total and no "…" in the title
        assert list(sidebar.known) == expected_counts(demo, app)
        assert not listed.counting and listed.total == expected_counts(demo, app)[0]
        assert f"{listed.total:,} messages" in str(app.screen.query_one("#list-title").render())

    await started(demo, first_run)
    assert (demo.root / saved_counts.FILE).exists()
    await started(demo, second_run)


@pytest.mark.asyncio
async def test_an_unchanged_index_is_not_counted_again_at_start_or_at_the_poll(demo, monkeypatch):
    counted: list[str] = []
    count = Store.count
    monkeypatch.setattr(Store, "count", lambda self, query: counted.append(query) or count(self, query))

    async def run(app, pilot):
        await app.workers.wait_for_complete()
        await pilot.pause()

    await started(demo, run)
    assert expand("tag:inbox") in counted   # the first start counts (nothing saved yet)
    counted.clear()

    async def unchanged(app, pilot):
        await run(app, pilot)
        app.screen.poll_store()
        await run(app, pilot)

    await started(demo, unchanged)
    assert counted == []


@pytest.mark.asyncio
async def test_saved_counts_are_checked_once_at_start_and_the_poll_still_sees_a_change(demo, monkeypatch):
    """The launcher's prefetch found the index at the saved counts' revision: the screen does not open a
    second handle to check it again before its first frame; the poll does, and counts what changed."""
    async def run(app, pilot):
        await app.workers.wait_for_complete()
        await pilot.pause()

    await started(demo, run)
    checked: list[tuple] = []
    revision = Store.revision
    monkeypatch.setattr(Store, "revision", lambda self: checked.append(revision(self)) or checked[-1])

    async def unchanged_then_changed(app, pilot):
        await run(app, pilot)
        assert len(checked) == 1   # the prefetch's check only
        with Store.open(demo, writable=True) as store:
            inbox = store.window(expand("tag:inbox"), 0, 2)
            store.tag([m.message_id for m in inbox], remove=("inbox",))
        app.screen.poll_store()
        await run(app, pilot)
        sidebar, _listed = sidebar_and_list(app)
        assert [sidebar.counts.get(s.name) for s in sidebar.searches] == expected_counts(demo, app)

    await started(demo, unchanged_then_changed)


@pytest.mark.asyncio
async def test_counts_saved_before_a_change_to_the_index_are_not_shown(demo):
    """Mail tagged by another client (or `pli new`) after pli quit: the saved figures are wrong now."""
    async def run(app, pilot):
        await app.workers.wait_for_complete()
        await pilot.pause()

    await started(demo, run)
    with Store.open(demo, writable=True) as store:
        inbox = store.window(expand("tag:inbox"), 0, 3)
        store.tag([m.message_id for m in inbox], remove=("inbox",))

    async def after_the_change(app, pilot):
        sidebar, listed = sidebar_and_list(app)
        assert sidebar.known == (None,) * len(sidebar.searches)
        await app.workers.wait_for_complete()
        await pilot.pause()
        counts = expected_counts(demo, app)
        assert [sidebar.counts.get(s.name) for s in sidebar.searches] == counts
        assert listed.total == counts[0]

    await started(demo, after_the_change)


@pytest.mark.asyncio
async def test_the_first_preview_is_read_during_start_up_not_after_the_first_frame(demo, monkeypatch):
    from pli.tui.widgets.preview_pane import PreviewPane

    read_after = []
    monkeypatch.setattr(PreviewPane, "show_summary", lambda self, summary: read_after.append(summary))

    async def run(app, pilot):
        await pilot.pause()
        listed = app.screen.query_one(MessageList)
        headers = str(app.screen.query_one("#preview-headers").render())
        assert listed.row_at(0).subject in headers and read_after == []

    await started(demo, run)
