"""Lab mail as real labs send it, in the TUI: reports in the mail body, reports pli cannot read."""
from __future__ import annotations

import pytest
from textual.widgets import TextArea

from pli.tui.screens.lab import LabScreen
from pli.tui.screens.main import MainScreen
from pli.tui.widgets.lab_table import LabTable
from pli.tui.widgets.message_list import MessageList

from lab_mail_fixtures import deliver, mail_bodies

SIZE = (120, 40)
pytestmark = pytest.mark.asyncio

DAMAGED = mail_bodies.encode(mail_bodies.hprim_body(
    lab=["****LAB****", "RES|Potassium|K|N|6,8\x01|mmol/l|3,5|5,0|HH|F|", "****FINLAB****"]))


async def find(app, pilot, subject: str) -> MessageList:
    await pilot.pause()
    assert isinstance(app.screen, MainScreen)
    messages = app.screen.query_one(MessageList)
    await pilot.press("slash", *f'subject:"{subject}"', "enter")
    await pilot.pause()
    assert messages.total == 1 and messages.current.subject == subject
    return messages


async def test_a_report_sent_as_the_mail_body_opens_in_the_lab_view(demo, make_app):
    deliver(demo, [mail_bodies.mail(mail_bodies.encode(mail_bodies.hprim_body()), subject="corps HPRIM",
                                    charset="iso-8859-1")])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await find(app, pilot, "corps HPRIM")
        assert messages.current.lab_summary == "K 6,8 HH, CREA 180 H"
        await pilot.press("L")
        await pilot.pause()
        assert isinstance(app.screen, LabScreen)
        rows = app.screen.query_one(LabTable).rows_shown
        assert [(r.name, r.value, r.symbol) for r in rows][:1] == [("Potassium", "6,8", "▲▲")]


async def test_a_report_pli_cannot_read_is_marked_in_the_list_and_shown_raw(demo, make_app):
    deliver(demo, [mail_bodies.mail(DAMAGED, subject="illisible", charset="iso-8859-1")])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await find(app, pilot, "illisible")
        assert "lab-unreadable" in messages.current.tags
        row = "".join(segment.text for segment in messages.render_line(0))
        assert row[1] == "⚠" and "malformed HPRIM lab r" in row and "lab-unrea" in row
        await pilot.press("L")
        await pilot.pause()
        assert isinstance(app.screen, LabScreen)
        title = str(app.screen.query_one("#lab-title").render())
        assert "could not read this lab report" in title and "line 16" in title
        raw = app.screen.query_one("#lab-raw", TextArea)
        assert raw.read_only and raw.document.get_line(15).startswith("RES|Potassium|K|N|6,8")
        assert raw.document.get_line(1) == "FICTIF"
