"""Snapshots of the screens issue 14 added, at 80x24 (SSH minimum): the thread view, the alert banner."""
from replay_fixture import deliver_a_pad_reuse
from threads_fixture import add_thread


def test_thread_view(snap_compare, demo, make_app):
    add_thread(demo)
    assert snap_compare(make_app(demo), terminal_size=(80, 24), press=["V", "wait:300", "enter", "wait:300", "_"])


def test_security_alert_banner(snap_compare, demo, make_app):
    deliver_a_pad_reuse(demo)
    assert snap_compare(make_app(demo), terminal_size=(80, 24), press=["wait:500", "_"])
