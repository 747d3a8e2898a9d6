"""Threads: notmuch's own (its thread ids, joined by References and In-Reply-To), one row per thread.

A lab's corrected report and a colleague's reply sit with the original.  The
rows are notmuch's threads of a query, newest first (placed by their newest
message the query matches), and each row keeps the summary of every message of
its thread: triage acts on the whole thread, and undo restores each message's
own tags.  A thread is never built from Message-ID strings here: notmuch's
thread ids stay right whatever ids the store gives its messages.

Stepping over a thread costs building it (notmuch offers no cheaper skip), so
the store pages forward through one live iterator (see store.py) and the list
reads the most recent threads first (pli.tui.paging), as it does for messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from notmuch2 import _capi as capi

from pli.core.store.summary import MessageSummary, summary_of


@dataclass(frozen=True)
class ThreadSummary:
    """One row of the thread list: what it shows is its newest matched message's, with the thread's
    authors, count and tags (the union: an unread, critical or flagged message shows on the row)."""

    thread_id: str
    messages: tuple[MessageSummary, ...]   # every message of the thread, oldest first
    newest: MessageSummary                 # the newest message the query matched
    authors: str                           # the senders, first appearance first

    @property
    def count(self) -> int:
        return len(self.messages)

    @property
    def message_id(self) -> str:
        return self.newest.message_id

    @property
    def date(self) -> int:
        return self.newest.date

    @property
    def sender(self) -> str:
        return self.authors

    @property
    def patient(self) -> str:
        return self.newest.patient

    @property
    def patient_key(self) -> str:
        return self.newest.patient_key

    @property
    def subject(self) -> str:
        return self.newest.subject

    @property
    def lab_summary(self) -> str:
        return self.newest.lab_summary

    @property
    def mode(self) -> str:
        return self.newest.mode

    @property
    def path(self) -> str:
        return self.newest.path

    @cached_property   # asked at every redraw of the row
    def tags(self) -> frozenset:
        return frozenset().union(*(m.tags for m in self.messages))

    @cached_property
    def verified(self) -> bool:
        """Every message checked: one that failed its checks (a forged "correction" referencing a
        real report joins its thread) marks the whole row."""
        return all(m.verified for m in self.messages)


@dataclass(frozen=True)
class ThreadEntry:
    """A message of a thread view, with its depth in the reply tree (0: a message that starts it)."""

    depth: int
    summary: MessageSummary


def _matched(msg) -> bool:
    return bool(capi.lib.notmuch_message_get_flag(msg._msg_p, capi.lib.NOTMUCH_MESSAGE_FLAG_MATCH))


def thread_summary(thread) -> ThreadSummary:
    """Copy a notmuch thread into a row (inside the iteration: notmuch objects die with their iterator)."""
    messages, newest = [], None
    for msg in thread:    # oldest first
        summary = summary_of(msg)
        messages.append(summary)
        if _matched(msg) and (newest is None or summary.date >= newest.date):
            newest = summary
    newest = newest or messages[-1]
    authors = ", ".join(dict.fromkeys(m.sender for m in messages if m.sender))
    return ThreadSummary(str(thread.threadid), tuple(messages), newest, authors)


def thread_entries(thread) -> list[ThreadEntry]:
    """The messages of a thread in reply order (each reply under what it answers), depth first."""
    entries: list[ThreadEntry] = []

    def walk(messages, depth: int) -> None:
        for msg in messages:
            entries.append(ThreadEntry(depth, summary_of(msg)))
            walk(msg.replies(), depth + 1)

    walk(thread.toplevel(), 0)
    return entries
