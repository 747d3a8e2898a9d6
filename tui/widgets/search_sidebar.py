"""The sidebar: saved searches with their live message counts."""
from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from pli.tui.config import SavedSearch


def search_label(search: SavedSearch, count: int | None, width: int = 17) -> Text:
    number = "" if count is None else f"{count:,}"
    name_width = max(4, width - len(number) - 1)
    name = search.name if len(search.name) <= name_width else search.name[: name_width - 1] + "…"
    label = Text(name.ljust(name_width) + " ")
    label.append(number, style="bold" if count else "dim")
    return label


class SearchSidebar(OptionList):
    """One line per saved search; choosing one shows it in the message list."""

    BINDINGS = [
        Binding("down,j", "cursor_down", "Next search", show=False),
        Binding("up,k", "cursor_up", "Previous search", show=False),
        Binding("enter,right,l", "select", "Show", show=False),
    ]

    class Chosen(Message):
        def __init__(self, search: SavedSearch) -> None:
            self.search = search
            super().__init__()

    def __init__(self, searches: tuple[SavedSearch, ...], *, id: str | None = None,
                 counts: tuple[int | None, ...] = ()) -> None:
        """counts: what is known already (saved from the last run), in the order of `searches`."""
        self.searches = searches
        known = dict(enumerate(counts))
        self.known = tuple(known.get(i) for i in range(len(searches)))   # None: not known, counted after
        self.counts: dict[str, int] = {s.name: known[i] for i, s in enumerate(searches) if known.get(i) is not None}
        super().__init__(*(Option(search_label(s, known.get(i)), id=f"s{i}") for i, s in enumerate(searches)),
                         id=id)

    def set_count(self, index: int, count: int) -> None:
        self.counts[self.searches[index].name] = count
        self.replace_option_prompt_at_index(index, search_label(self.searches[index], count))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(self.searches[event.option_index]))
