"""Lab mail as real labs send it, in the TUI: reports in the mail body, reports pli cannot read."""
from __future__ import annotations

import pytest
from textual.widgets import TextArea

from pli.core.store.patients import describe
from pli.tui.screens.lab import LabScreen
from pli.tui.screens.main import MainScreen
from pli.tui.screens.patient import PatientScreen
from pli.tui.widgets.culture_table import CultureTable, organism_heading
from pli.tui.widgets.lab_table import LabTable
from pli.tui.widgets.message_list import MessageList

from lab_mail_fixtures import CORPUS, deliver, mail_bodies

SIZE = (120, 40)
pytestmark = pytest.mark.asyncio



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
    deliver(demo, [mail_bodies.mail(mail_bodies.UNREADABLE, subject="illisible", charset="iso-8859-1")])
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
        assert "could not read this lab report" in title and "line 17: binary data" in title
        raw = app.screen.query_one("#lab-raw", TextArea)
        assert raw.read_only and raw.document.get_line(15).startswith("RES|Potassium|K|N|6,8")
        assert raw.document.get_line(16).endswith("RES|Sodium|NA|N|139|mmol/l|136|145||F|")
        assert raw.document.get_line(1) == "FICTIF"


def corpus_mail(name: str, subject: str) -> bytes:
    return mail_bodies.mail((CORPUS / name).read_bytes(), subject=subject, charset="iso-8859-1")


async def open_lab(app, pilot, subject: str):
    await find(app, pilot, subject)
    await pilot.press("L")
    await pilot.pause()
    assert isinstance(app.screen, LabScreen)
    return app.screen


async def test_a_report_read_in_part_is_marked_and_its_text_is_one_key_away(demo, make_app):
    deliver(demo, [mail_bodies.mail(mail_bodies.TRUNCATED, subject="tronqué", charset="iso-8859-1")])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await find(app, pilot, "tronqué")
        assert "lab-incomplete" in messages.current.tags
        assert "".join(s.text for s in messages.render_line(0))[1] == "‼"   # critical before the warning
        screen = await open_lab(app, pilot, "tronqué")
        notices = str(screen.query_one("#lab-notices").render())
        assert "INCOMPLETE" in notices and "line 17: the file ends in the middle of this result line" in notices
        assert [r.name for r in screen.query_one(LabTable).rows_shown if r.is_result] == ["Potassium"]
        await pilot.press("r")
        raw = screen.query_one("#lab-raw", TextArea)
        assert raw.display and raw.has_focus and raw.document.get_line(16) == "RES|Sodium|NA|N|13"
        await pilot.press("r")
        assert not raw.display and screen.query_one(LabTable).display


async def test_results_tied_to_no_patient_say_so_and_have_no_trend(demo, make_app):
    deliver(demo, [mail_bodies.mail(mail_bodies.UNCERTAIN, subject="incertain", charset="iso-8859-1")])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await find(app, pilot, "incertain")
        assert "patient-uncertain" in messages.current.tags
        assert messages.current.patient == "FICTIF Zoé + patient uncertain"
        screen = await open_lab(app, pilot, "incertain")
        await pilot.press("right_square_bracket")
        title = str(screen.query_one("#lab-title").render())
        assert title.startswith("PATIENT UNCERTAIN") and screen.query_one("#lab-title").has_class("-warning")
        notices = str(screen.query_one("#lab-notices").render())
        assert "attached to no patient" in notices and "AUTRE" in notices and "FICTIF Zoé" in notices
        await pilot.press("t")
        assert isinstance(app.screen, LabScreen)   # no trend for results that belong to nobody


async def test_an_antibiogram_shows_its_organism_and_susceptibilities_the_resistant_one_highlighted(demo, make_app):
    deliver(demo, [corpus_mail("h24-antibiogram-esbl.hpr", "ECBU")])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot, "ECBU")
        cultures = screen.query_one(CultureTable)
        assert cultures.display
        (organism,) = screen.report.organisms
        heading = organism_heading(organism)
        assert "MULTI-RESISTANT (BLSE)" in heading.plain and heading.style == "bold red reverse"
        lines = cultures.plain.splitlines()
        assert lines[0] == "Escherichia coli · MULTI-RESISTANT (BLSE)"
        assert lines[1:] == ["Amoxicilline R", "Amoxicilline + acide clavulanique R", "Céfotaxime R", "Ceftazidime I",
                             "Imipénème S", "Fosfomycine S", "Nitrofurantoïne S", "Ciprofloxacine R"]


async def test_a_later_message_for_the_order_turns_the_earlier_value_into_history(demo, make_app):
    from pli.tui.screens.trend import TrendScreen

    first = ["****LAB****", "RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|F|", "RES|Sodium|NA|N|139|mmol/l|136|145||F|",
             "****FINLAB****"]
    fixed = ["****LAB****", "RES|Potassium|K|N|4,5|mmol/l|3,5|5,0||C|", "****FINLAB****"]
    deliver(demo, [mail_bodies.mail(mail_bodies.encode(mail_bodies.hprim_body(lab=block)), subject=subject,
                                    charset="iso-8859-1") for subject, block in (("premier", first), ("correctif", fixed))],
            times=[1_709_546_400, 1_709_632_800])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await find(app, pilot, "premier")
        assert "superseded" in messages.current.tags and "critical" not in messages.current.tags
        assert "".join(s.text for s in messages.render_line(0))[1] == " "
        screen = await open_lab(app, pilot, "premier")
        assert screen.report.severity == "normal"
        rows = {r.name: r for r in screen.query_one(LabTable).rows_shown}
        assert rows["Potassium"].severity == "replaced" and rows["Potassium"].symbol == ""
        assert "replaced (history)" in rows["Potassium"].note and "→ 4,5 mmol/l (05.03.2024)" in rows["Potassium"].note
        await pilot.press("escape")
        screen = await open_lab(app, pilot, "correctif")
        table = screen.query_one(LabTable)
        assert "✎ corrects 6,8 mmol/l HH" in table.rows_shown[0].note
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TrendScreen)
        plot = app.screen.query_one("#trend-plot")
        assert [p.value for p in plot.points] == [4.5]   # the replaced 6,8 is never on the line
        assert "replaced by a correction (history, not plotted): 04.03.24 6.8" in str(
            app.screen.query_one("#trend-values").render())


async def test_statuses_within_one_report_preliminary_corrected_not_done(demo, make_app):
    deliver(demo, [corpus_mail("h23-status-corrections.hpr", "statuts")])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lab(app, pilot, "statuts")
        rows = [r for r in screen.query_one(LabTable).rows_shown if r.is_result]
        severities = {r.severity for r in rows}
        assert {"replaced", "not done"} <= severities
        assert any("preliminary" in r.note for r in rows) and any("corrected" in r.note for r in rows)
        assert all(r.value.startswith("(") and r.symbol == "" for r in rows if r.severity == "not done")


async def test_the_patient_view_names_another_patient_under_the_same_number(demo, make_app):
    deliver(demo, [corpus_mail("h26-child-under-parent-nir.hpr", "mère et enfant")])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        messages = await find(app, pilot, "mère et enfant")
        patients = sorted(t for t in messages.current.tags if t.startswith("patient:"))
        assert len(patients) == 2   # two people, two tags, never one
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, PatientScreen)
        notices = str(app.screen.query_one("#patient-notices").render())
        other = patients[1] if messages.current.patient_key == patients[0][len("patient:"):] else patients[0]
        assert "kept apart" in notices and "same social-security number" in notices
        assert describe(other[len("patient:"):]) in notices
