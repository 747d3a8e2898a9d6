"""Triage actions (archive, read/unread, flag, tag) as tag changes that can be undone exactly.

An action remembers, per message, which tags it really added and removed, so
that undo restores each message as it was, even when a selection mixed read
and unread messages.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class TagChange:
    """Tags to add and remove on some messages."""

    message_ids: tuple[str, ...]
    add: frozenset[str] = frozenset()
    remove: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TriageAction:
    label: str                      # what the notification and undo say ("archived 3 messages")
    changes: tuple[TagChange, ...]  # what was really changed, grouped for batched store calls

    def inverse(self) -> tuple[TagChange, ...]:
        return tuple(TagChange(c.message_ids, c.remove, c.add) for c in self.changes)


def plan(label: str, targets: list, add: frozenset = frozenset(), remove: frozenset = frozenset()
         ) -> TriageAction:
    """The changes `add`/`remove` really make on `targets` (MessageSummary objects with .tags)."""
    groups: dict[tuple[frozenset, frozenset], list[str]] = defaultdict(list)
    for summary in targets:
        added = frozenset(add) - summary.tags
        removed = frozenset(remove) & summary.tags
        if added or removed:
            groups[(added, removed)].append(summary.message_id)
    changes = tuple(TagChange(tuple(ids), a, r) for (a, r), ids in groups.items())
    return TriageAction(label, changes)


def apply_changes(store, changes: tuple[TagChange, ...]) -> None:
    for change in changes:
        store.tag(list(change.message_ids), add=tuple(sorted(change.add)),
                  remove=tuple(sorted(change.remove)))


class UndoStack:
    """The last triage actions, newest last; `u` undoes them one by one."""

    def __init__(self, depth: int = 50) -> None:
        self.depth = depth
        self._done: list[TriageAction] = []

    def push(self, action: TriageAction) -> None:
        if action.changes:
            self._done.append(action)
            del self._done[: -self.depth]

    def pop(self) -> TriageAction | None:
        return self._done.pop() if self._done else None
