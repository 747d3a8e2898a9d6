"""Lab values and reference ranges as labs write them: "12,5", "<0.5", "> 1000", "3.5-5.0", "<5".

Pure text-to-number functions, shared by both parsers and the flag logic.
Anything that is not plainly one of these shapes returns None: a value pli
cannot read is left as text and shown "not interpreted", never guessed at
(so "1.234,5", "1:40", "12.5.3" or "+++" are not numbers here).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# An optional sign, digits, an optional decimal part with a point or a comma.
_NUMBER = r"[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)"
_COMPARATORS = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "≤": "<=", "≥": ">=", "=<": "<=", "=>": ">="}
_PLAIN_NUMBER = re.compile(_NUMBER)
_QUANTITY = re.compile(rf"\s*(<=|>=|=<|=>|<|>|≤|≥)?\s*({_NUMBER})\s*")
_RANGE = re.compile(rf"\s*({_NUMBER})\s*(?:-|–|—|à|to)\s*({_NUMBER})\s*")
_BOUND = re.compile(rf"\s*(<=|>=|=<|=>|<|>|≤|≥)\s*({_NUMBER})\s*")


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number with the comparator the lab put before it ("" for an exact value)."""

    comparator: str   # "", "<", ">", "<=", ">="
    number: float


@functools.lru_cache(maxsize=4096)
def to_number(text: str) -> float | None:
    """'12,5' -> 12.5; None unless the text is one plain decimal number.

    Cached: range bounds are read for every result judged, and a lab writes the
    same few hundred of them.
    """
    if not text or len(text) > 40:
        return None
    match = _PLAIN_NUMBER.fullmatch(text.strip())
    return float(match.group(0).replace(",", ".")) if match else None


def parse_quantity(text: str) -> Quantity | None:
    """'12,5', '<0.5', '> 1000', '≤3' -> Quantity; None for anything else."""
    if not text or len(text) > 40:
        return None
    number = to_number(text)
    if number is not None:
        return Quantity("", number)  # most values: a plain number, read without the comparator pattern
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return None
    comparator = _COMPARATORS.get(match.group(1) or "", "")
    return Quantity(comparator, float(match.group(2).replace(",", ".")))


def split_range(text: str) -> tuple[str, str] | None:
    """A reference range as (low, high) number texts, "" for an open end; None if unreadable.

    '3.5-5.0' -> ('3.5', '5.0'); '3,5 - 5,0' -> ('3,5', '5,0'); '<5' -> ('', '5');
    '>40' -> ('40', ''); '-2-2' -> ('-2', '2').  The texts are kept as written
    so that writing the range back gives the lab's own digits.
    """
    if not text or len(text) > 60:
        return None
    match = _RANGE.fullmatch(text)
    if match:
        return match.group(1), match.group(2)
    match = _BOUND.fullmatch(text)
    if match:
        upper = _COMPARATORS[match.group(1)] in ("<", "<=")
        return ("", match.group(2)) if upper else (match.group(2), "")
    return None
