"""The conversation screen at 80x24 (SSH minimum) over the fixed-seed demo: the colleague's notes, newest at the bottom."""


def test_conversation_80x24(snap_compare, demo, make_app):
    assert snap_compare(make_app(demo), terminal_size=(80, 24), press=["slash", *"tag:note", "enter", "C"])
