"""Reading the inbox's first page while Textual is still being imported.

Importing Textual takes most of pli's start-up and holds one core; opening the
notmuch index, counting and sorting the inbox happen in C with the GIL
released.  So the launcher starts this read in a thread first, and the app
finds the first page ready instead of waiting for it after its own start-up.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class FirstPage:
    store: object = None
    query: str = ""
    count: int = 0
    rows: list | None = None
    error: BaseException | None = None


class Prefetch(threading.Thread):
    def __init__(self, home, query: str, page: int) -> None:
        super().__init__(name="pli-prefetch", daemon=True)
        self.home = home
        self.user_query = query
        self.page = page
        self.result = FirstPage()

    def run(self) -> None:
        try:
            from pli.core.store.query import expand
            from pli.core.store.store import Store

            store = Store.open(self.home, writable=True)
            query = expand(self.user_query)
            self.result = FirstPage(store, query, store.count(query), store.window(query, 0, self.page))
        except BaseException as error:  # noqa: BLE001 - handed to the app, which shows it (or retries)
            self.result = FirstPage(error=error)

    def first_page(self) -> FirstPage:
        self.join()
        return self.result
