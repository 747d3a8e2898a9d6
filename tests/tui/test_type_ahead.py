"""Keys typed fast (or pasted over SSH) into the search bar and the tag prompt all land, in order (issue 14.5).

Pilot's press() waits until the app is idle after every key: a person typing
fast does not.  Here the keys are posted as a terminal delivers them, a few at
a time with only a handful of event-loop turns in between, so that some arrive
while the key before them is still opening the input.
"""
import asyncio

import pytest
from textual import events

from pli.tui.screens.main import MainScreen
from pli.tui.widgets.message_list import MessageList

from test_app import tags_of

pytestmark = pytest.mark.asyncio

SIZE = (120, 40)
#: (loop turns between bursts, keys per burst): the first made "/critical" search "crialtic" or "ical"
RHYTHMS = [(2, 3), (5, 3), (12, 3), (0, 99), (1, 1), (30, 2)]


async def type_fast(app, keys: list[str], turns: int, burst: int) -> None:
    for index, key in enumerate(keys):
        app.post_message(events.Key(key, key if len(key) == 1 else None))
        if index % burst == burst - 1:
            for _ in range(turns):
                await asyncio.sleep(0)


@pytest.mark.parametrize("turns,burst", RHYTHMS)
async def test_a_search_typed_fast_is_searched_whole(demo, make_app, turns, burst):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_fast(app, ["slash", *"critical and tag:inbox", "enter"], turns, burst)
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)
        assert app.screen.current_search.query == "critical and tag:inbox"
        assert not app._notifications   # nothing else ran (c = compose, a = archive, t = tag...)


@pytest.mark.parametrize("turns,burst", RHYTHMS)
async def test_tags_typed_fast_into_the_tag_prompt_are_all_added(demo, make_app, turns, burst):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        target = app.screen.query_one(MessageList).current
        await type_fast(app, ["t", *"urgent lab-call", "enter"], turns, burst)
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)
        assert {"urgent", "lab-call"} <= tags_of(demo, target.message_id)


async def test_slash_and_t_are_text_inside_the_search_bar(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"tag:inbox/t", "enter")
        await pilot.pause()
        assert app.screen.current_search.query == "tag:inbox/t"


async def test_keys_held_for_a_prompt_that_never_opens_are_released(demo, make_app, monkeypatch):
    from pli.tui import app as app_module

    monkeypatch.setattr(app_module, "HOLD_AT_MOST", 0.2)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        ml = app.screen.query_one(MessageList)
        app.hold_keys()                      # as if a prompt were opening, and then failed to
        await pilot.press("j", "j")
        assert ml.cursor == 0
        await pilot.pause(0.4)
        assert ml.cursor == 2                # the keyboard is never left dead


@pytest.mark.parametrize("turns,burst", RHYTHMS)
async def test_compose_fields_typed_fast_with_tab_each_get_their_text(demo, make_app, turns, burst):
    """address<Tab>subject<Tab>text typed as one string: Tab moves on in line with the keys."""
    from pli.tui.screens.compose import ComposeScreen

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_fast(app, ["c", *"resultats@labo-estuaire.example", "tab", *"Essai", "tab", *"Bonjour"],
                        turns, burst)
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)   # no key went to the list meanwhile (r: reply, e: export...)
        assert screen.query_one("#compose-to").value.rstrip(", ") == "resultats@labo-estuaire.example"
        assert screen.query_one("#compose-subject").value == "Essai"
        assert screen.query_one("#compose-body").text == "Bonjour"


@pytest.mark.parametrize("turns,burst", RHYTHMS)
async def test_esc_and_its_answer_typed_fast_after_text_lose_nothing(demo, make_app, turns, burst):
    """Text, Esc and k (keep as draft) typed as one string: the draft holds all the text."""
    import json

    from pli.core.mail import draft_store
    from pli.tui.screens.main import MainScreen

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_fast(app, ["c", *"resultats@labo-estuaire.example", "tab", *"Essai", "tab", *"x",
                              "escape", "k"], turns, burst)
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)
    (path,) = draft_store.drafts_dir(demo).iterdir()
    assert json.loads(path.read_bytes())["body"] == "x"
