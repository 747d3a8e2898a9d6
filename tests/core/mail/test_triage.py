"""Triage actions record exactly what they changed, so undo restores every message as it was."""
from dataclasses import dataclass

from pli.core.mail.triage import TagChange, UndoStack, plan


@dataclass(frozen=True)
class Row:
    message_id: str
    tags: frozenset


def test_plan_only_records_real_changes_and_inverse_restores_them():
    rows = [Row("a", frozenset({"inbox", "unread"})), Row("b", frozenset({"inbox"})), Row("c", frozenset())]
    action = plan("read", rows, remove=frozenset({"unread"}))
    assert action.changes == (TagChange(("a",), frozenset(), frozenset({"unread"})),)
    assert action.inverse() == (TagChange(("a",), frozenset({"unread"}), frozenset()),)


def test_plan_groups_messages_with_the_same_change():
    rows = [Row("a", frozenset({"inbox"})), Row("b", frozenset({"inbox"})), Row("c", frozenset())]
    action = plan("archive", rows, remove=frozenset({"inbox"}))
    assert len(action.changes) == 1 and set(action.changes[0].message_ids) == {"a", "b"}


def test_undo_stack_pops_newest_first_and_ignores_empty_actions():
    stack = UndoStack(depth=2)
    stack.push(plan("nothing", [Row("a", frozenset())], remove=frozenset({"inbox"})))
    assert stack.pop() is None
    for name in ("one", "two", "three"):
        stack.push(plan(name, [Row(name, frozenset())], add=frozenset({"flagged"})))
    assert [stack.pop().label, stack.pop().label, stack.pop()] == ["three", "two", None]
