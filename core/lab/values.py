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

# An optional sign, digits, an optional decimal part with a point or a comma.  French labs group
# thousands with a space ("45 000", "150 000-400 000" platelets): groups of exactly three digits after
# a space (also a no-break space) are read; "1.234,5" (a point between groups) is not.
_GROUP_SPACES = " \u00a0\u202f"
_NUMBER = rf"[+-]?(?:\d{{1,3}}(?:[{_GROUP_SPACES}]\d{{3}})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?|[.,]\d+)"
_UNGROUP = str.maketrans({",": ".", " ": None, "\u00a0": None, "\u202f": None})
_COMPARATORS = {"<": "<", ">": ">", "<=": "<=", ">=": ">=", "≤": "<=", "≥": ">=", "=<": "<=", "=>": ">=",
                "=": ""}
_PLAIN_NUMBER = re.compile(_NUMBER)
_QUANTITY = re.compile(rf"\s*(<=|>=|=<|=>|<|>|≤|≥|=)?\s*({_NUMBER})\s*")
# French labs write bounds in words: "inf. à 34", "sup. à 27,0", "inférieur à 5", "jusqu'à 15".
_BELOW_WORDS = r"(?:inf\.?|inférieur|inferieur|jusqu'?\s?à|jusqu'?\s?a|max\.?|<\s*à)\s*(?:à|a)?"
_ABOVE_WORDS = r"(?:sup\.?|supérieur|superieur|min\.?|>\s*à)\s*(?:à|a)?"
# What may follow a range: its unit ("3.5 - 5.0 mmol/L", "4-10 10^9/L"), never a second range or bound.
_TAIL = r"(?:\s+|(?=[^\d\s.,]))(?P<tail>[^<>≤≥]*?)"
_RANGE = re.compile(rf"\s*(?:de\s+)?({_NUMBER})\s*(?:-|–|—|à|a|to|_)\s*({_NUMBER})(?:{_TAIL})?\s*", re.IGNORECASE)
_BOUND = re.compile(rf"\s*(<=|>=|=<|=>|<|>|≤|≥|{_BELOW_WORDS}|{_ABOVE_WORDS})\s*({_NUMBER})(?:{_TAIL})?\s*",
                    re.IGNORECASE)
_SECOND_RANGE = re.compile(rf"\d\s*(?:-|–|—|à|to)\s*\d")
_BRACKETS = {"[": "]", "(": ")"}
# A label before the range, colon after it: "vr : 4 à 10" (valeurs de référence), "VN: 3,5-5", "N : <5".
_LABEL = re.compile(r"\s*(?:v\.?\s?[rn]\.?|n|r[ée]f\.?|valeurs?(?:\s+(?:de\s+r[ée]f[ée]rence|normales?|usuelles?))?|"
                    r"normales?)\s*:\s*", re.IGNORECASE)
# A value with its unit in one field ("< 0.12  mg/l", "5,2 mmol/l"): the unit starts with a letter or a sign.
_VALUE_UNIT = re.compile(rf"\s*((?:<=|>=|=<|=>|<|>|≤|≥)?\s*{_NUMBER})\s+([A-Za-zµμ%/°][^\s|]{{0,15}})\s*")


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
    return float(match.group(0).translate(_UNGROUP)) if match else None


def decimal_digits(text: str) -> str:
    """The lab's digits of a number as a decimal literal ('6,80' -> '6.80', '< 45 000' -> '45000'),
    for an exact Decimal: 6.80 stays 6.80, never 6.7999999."""
    return _unstarred(text).strip().lstrip("<>=≤≥ ").translate(_UNGROUP)


def starred(text: str) -> bool:
    """The lab marked the value abnormal with a star ("141000*", "*141000*", "185 *"), as French labs
    print out-of-range values; a star alone is no value."""
    core = text.strip()
    return (core.startswith("*") or core.endswith("*")) and bool(core.strip("* "))


def _unstarred(text: str) -> str:
    return text.strip().strip("*").strip() if starred(text) else text


def parse_quantity(text: str) -> Quantity | None:
    """'12,5', '<0.5', '> 1000', '≤3', '141000*' (a lab's star) -> Quantity; None for anything else."""
    if not text or len(text) > 40:
        return None
    text = _unstarred(text)
    number = to_number(text)
    if number is not None:
        return Quantity("", number)  # most values: a plain number, read without the comparator pattern
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return None
    comparator = _COMPARATORS.get(match.group(1) or "", "")
    return Quantity(comparator, float(match.group(2).translate(_UNGROUP)))


def split_range(text: str) -> tuple[str, str] | None:
    """A reference range as (low, high) number texts, "" for an open end; None if unreadable.

    '3.5-5.0' -> ('3.5', '5.0'); '3,5 - 5,0' -> ('3,5', '5,0'); '<5' -> ('', '5');
    '>40' -> ('40', ''); '-2-2' -> ('-2', '2'); '3.5 - 5.0 mmol/L' -> ('3.5', '5.0');
    '[0.5-1.2]' -> ('0.5', '1.2'); 'inf. à 34' -> ('', '34'); '70_105' -> ('70', '105');
    'vr : 4000 à 10000' -> ('4000', '10000') (a label and a colon before the range).
    The texts are kept as written so that writing the range back gives the lab's own digits.
    A text holding two ranges ("3.5-5.0 adults, 2.0-4.0 children") is not split: which
    one applies is the lab's to say.
    """
    if not text or len(text) > 60:
        return None
    label = _LABEL.match(text)
    text = _unbracketed(text[label.end():] if label else text.strip())
    match = _RANGE.fullmatch(text)
    if match and _plain_tail(match.group("tail")):
        return match.group(1), match.group(2)
    match = _BOUND.fullmatch(text)
    if match and _plain_tail(match.group("tail")):
        word = match.group(1).lower()
        upper = _COMPARATORS.get(word, "") in ("<", "<=") or re.fullmatch(_BELOW_WORDS, word) is not None
        return ("", match.group(2)) if upper else (match.group(2), "")
    return None


def _unbracketed(text: str) -> str:
    if len(text) > 2 and _BRACKETS.get(text[0]) == text[-1]:
        return text[1:-1].strip()
    return text


def _plain_tail(tail: str | None) -> bool:
    """A unit after a range, not a second range or a condition with numbers of its own."""
    return not tail or (_SECOND_RANGE.search(tail) is None and len(tail) <= 20)


def split_value_unit(text: str) -> tuple[str, str] | None:
    """('< 0.12', 'mg/l') for a value written with its unit in one field; None otherwise."""
    if not text or len(text) > 40:
        return None
    match = _VALUE_UNIT.fullmatch(text)
    return (match.group(1).strip(), match.group(2)) if match else None
