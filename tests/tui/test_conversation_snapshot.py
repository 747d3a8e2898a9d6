"""The conversation screen at 80x24 (SSH minimum) over the fixed-seed demo: the colleague's notes, newest at the
bottom; and the lab's, where only the demo's two unsealed spoofs claim its address: red, their content not shown."""


async def settled(pilot) -> None:
    """Who the correspondent is comes from a thread: the snapshot waits for it."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_conversation_80x24(snap_compare, demo, make_app):
    async def open_from_list(pilot) -> None:
        await pilot.pause()
        await pilot.press("slash", *"tag:note", "enter", "C")
        await settled(pilot)

    assert snap_compare(make_app(demo), terminal_size=(80, 24), run_before=open_from_list)


def test_conversation_with_failed_checks_80x24(snap_compare, demo, make_app):
    from pli.tui.screens.conversation import open_conversation

    async def open_lab(pilot) -> None:
        await pilot.pause()
        open_conversation(pilot.app, "resultats@labo-estuaire.example")
        await settled(pilot)

    assert snap_compare(make_app(demo), terminal_size=(80, 24), run_before=open_lab)
