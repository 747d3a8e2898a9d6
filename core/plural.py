"""Counts in words for the person at the keyboard: "1 message", "2 messages", "1,200 entries".

    counted(n, "message")                                  # "1 message" / "3 messages"
    counted(n, "message without a lab report", "messages without a lab report")

Never "message(s)": a count says which it is.
"""
from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`n` (with thousands separators) and the noun agreeing with it; `plural` where the rule is wrong."""
    return f"{n:,} {singular if n == 1 else plural or plural_of(singular)}"


def plural_of(noun: str) -> str:
    """The English plural of a phrase ending with its noun: entry -> entries, address -> addresses."""
    head, _, last = noun.rpartition(" ")
    if last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
        last = last[:-1] + "ies"
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    else:
        last += "s"
    return f"{head} {last}" if head else last
