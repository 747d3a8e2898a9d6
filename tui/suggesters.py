"""Input completion on the last word typed (search terms, tags, recipients)."""
from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from textual.suggester import Suggester


class LastWordSuggester(Suggester):
    """Completes the word under the cursor from a list that may change (tags, addresses)."""

    def __init__(self, words: Callable[[], Iterable[str]], separators: str = " ,") -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.words = words
        self.separators = separators

    async def candidates(self, word: str) -> Iterable[str]:
        return self.words()

    async def get_suggestion(self, value: str) -> str | None:
        cut = max(value.rfind(sep) for sep in self.separators) + 1
        head, word = value[:cut], value[cut:]
        if not word:
            return None
        lowered = word.lower()
        for candidate in sorted(await self.candidates(word)):
            if candidate.lower().startswith(lowered) and len(candidate) > len(word):
                return head + word + candidate[len(word):]
        return None


class PrefixSuggester(LastWordSuggester):
    """Completes the word under the cursor from `complete(word)`, run in a thread: for sets too large to
    list, or slow to look up (a directory)."""

    def __init__(self, complete: Callable[[str], Iterable[str]], separators: str = " ,") -> None:
        super().__init__(lambda: (), separators)
        self.complete = complete

    async def candidates(self, word: str) -> Iterable[str]:
        return await asyncio.to_thread(lambda: list(self.complete(word)))
