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

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from notmuch2 import _capi as capi

from pli.core.store.summary import MessageSummary, header_of, summary_of


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
    """The messages of a thread in reply order (each reply under what it answers), depth first.

    notmuch's own reply tree links a reply to the document carrying the id it names.  The
    store names what it receives itself (docs/STORE.md, "Identity"), so a reply names the
    sender's id, which the clear copy keeps as X-Pli-Original-Message-Id: the parent is found
    here, among the thread's messages, by stored or original id.  When two messages claim that
    id (a squatted id), the one from the reply's own verified sender is its parent, else none:
    the reply is shown at the top, never under a guess.
    """
    nodes = [_Node.of(msg) for msg in thread]     # oldest first
    by_id: dict[str, list[_Node]] = defaultdict(list)
    for node in nodes:
        by_id[node.stored_id].append(node)
        if node.original_id:
            by_id[node.original_id].append(node)
    children: dict[int, list[_Node]] = defaultdict(list)
    roots = []
    for node in nodes:
        parent = _parent(node, by_id)
        (children[id(parent)] if parent is not None else roots).append(node)
    entries: list[ThreadEntry] = []
    shown: set[int] = set()

    def walk(level: list[_Node], depth: int) -> None:
        for node in level:
            if id(node) not in shown:   # a crafted loop (A answers B answers A) is shown once
                shown.add(id(node))
                entries.append(ThreadEntry(depth, node.summary))
                walk(children[id(node)], depth + 1)

    walk(roots, 0)
    walk([node for node in nodes if id(node) not in shown], 0)   # what a loop kept from the roots
    return entries


_ID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class _Node:
    summary: MessageSummary
    stored_id: str
    original_id: str       # the sender's Message-ID ("" for mail pli wrote itself)
    answers: str           # the id it replies to ("" for none)
    sender_id: str         # its verified sender ("" when unverified)

    @classmethod
    def of(cls, msg) -> "_Node":
        original = _ID.findall(header_of(msg, "X-Pli-Original-Message-Id"))
        original_id = original[0] if original else ""
        replied = _ID.findall(header_of(msg, "In-Reply-To"))
        # Without In-Reply-To, the nearest reference that is not the message's own id (the store
        # appends the sender's id to References so that replies to it join the thread).
        references = [r for r in _ID.findall(header_of(msg, "References")) if r != original_id]
        answers = replied[0] if replied else references[-1] if references else ""
        return cls(summary_of(msg), str(msg.messageid), original_id, answers,
                   header_of(msg, "X-Pli-Sender-Id").strip())


def _parent(node: _Node, by_id: dict[str, list[_Node]]) -> _Node | None:
    claimed = [other for other in by_id.get(node.answers, ()) if other is not node]
    if len(claimed) > 1 and node.sender_id:
        claimed = [other for other in claimed if other.sender_id == node.sender_id]
    return claimed[0] if len(claimed) == 1 else None
