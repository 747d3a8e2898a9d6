"""The conversation screen at 80x24 (SSH minimum) over the fixed-seed demo: the colleague's notes, newest at the
bottom; and the lab's, where only the demo's two unsealed spoofs claim its address: red, their content not shown."""


def test_conversation_80x24(snap_compare, demo, make_app):
    assert snap_compare(make_app(demo), terminal_size=(80, 24), press=["slash", *"tag:note", "enter", "C"])


def test_conversation_with_failed_checks_80x24(snap_compare, demo, make_app):
    from pli.tui.screens.conversation import open_conversation

    async def open_lab(pilot) -> None:
        await pilot.pause()
        open_conversation(pilot.app, "resultats@labo-estuaire.example")
        await pilot.pause()

    assert snap_compare(make_app(demo), terminal_size=(80, 24), run_before=open_lab)
