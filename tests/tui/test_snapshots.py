"""Snapshots of the main screens at 80x24 (SSH minimum) and 160x48, over the fixed-seed demo."""
import pytest

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare, demo, make_app, size):
    assert snap_compare(make_app(demo), terminal_size=size, press=["_"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_lab_view_critical_first(snap_compare, demo, make_app, size):
    assert snap_compare(make_app(demo), terminal_size=size,
                        press=["slash", *"critical", "enter", "L", "c", "_"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_message_view(snap_compare, demo, make_app, size):
    assert snap_compare(make_app(demo), terminal_size=size, press=["enter", "_"])


def test_trend(snap_compare, demo, make_app):
    assert snap_compare(make_app(demo), terminal_size=(160, 48),
                        press=["slash", *"critical", "enter", "L", "c", "t", "_"])


def test_quarantined_message(snap_compare, demo, make_app):
    assert snap_compare(make_app(demo), terminal_size=(80, 24),
                        press=["slash", *"quarantine", "enter", "enter", "_"])
