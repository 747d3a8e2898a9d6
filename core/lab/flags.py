"""Abnormal-value logic: the lab's flag wins; pli flags only what it can prove from the range.

The rules, in order (docs/LAB.md says the same for users):
1. The lab gave a flag pli knows (HL7 table 0078 / HPRIM: L, H, LL, HH, A, AA,
   N, <, >): that flag, marked as the lab's.
2. The lab gave a flag pli does not know: kept raw, shown "not interpreted",
   and ranked as abnormal so that someone looks at it.
3. No flag, a number and a numeric range: pli compares; out of range is L or H,
   marked as computed by pli.  Bounds are inclusive.  A value with a comparator
   ("<0.5") is judged only when every value it stands for falls on the same side.
   pli never invents a critical flag (it has no critical limits), so HH/LL/AA
   only ever come from the lab.
4. Anything else (text result, no range, an unreadable number): not interpreted.
An antibiogram's S/I/R (HL7 table 0078 has them too) is the lab's interpretation,
whether it comes as the flag or, as HPRIM labs write it, as the value itself.
"""
from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field
from enum import Enum

from pli.core import vocab
from pli.core.lab.values import parse_quantity, starred, to_number


class Flag(str, Enum):
    """An abnormal flag.  The values are the HL7 v2 table 0078 codes (HPRIM uses the same)."""

    NONE = ""
    NORMAL = "N"
    LOW = "L"
    HIGH = "H"
    CRITICAL_LOW = "LL"
    CRITICAL_HIGH = "HH"
    ABNORMAL = "A"
    CRITICAL_ABNORMAL = "AA"
    BELOW_SCALE = "<"      # below the instrument's measurable range
    ABOVE_SCALE = ">"
    SUSCEPTIBLE = "S"      # antibiogram: the organism is susceptible to the antibiotic
    INTERMEDIATE = "I"
    RESISTANT = "R"
    UNKNOWN = "?"          # the lab flagged with a code pli does not know

    def __str__(self) -> str:
        return self.value


CRITICAL = frozenset({Flag.CRITICAL_LOW, Flag.CRITICAL_HIGH, Flag.CRITICAL_ABNORMAL})
ABNORMAL = frozenset({Flag.LOW, Flag.HIGH, Flag.ABNORMAL, Flag.BELOW_SCALE, Flag.ABOVE_SCALE, Flag.UNKNOWN,
                      Flag.INTERMEDIATE, Flag.RESISTANT})
SUSCEPTIBILITY = frozenset({Flag.SUSCEPTIBLE, Flag.INTERMEDIATE, Flag.RESISTANT})
_KNOWN = {flag.value: flag for flag in Flag if flag not in (Flag.NONE, Flag.UNKNOWN)}
#: An antibiogram's interpretation written as the value (HPRIM type A lines), accents and case aside.
_SUSCEPTIBILITY_WORDS = {"S": Flag.SUSCEPTIBLE, "SENSIBLE": Flag.SUSCEPTIBLE, "SUSCEPTIBLE": Flag.SUSCEPTIBLE,
                         "I": Flag.INTERMEDIATE, "INTERMEDIAIRE": Flag.INTERMEDIATE,
                         "INTERMEDIATE": Flag.INTERMEDIATE, "R": Flag.RESISTANT, "RESISTANT": Flag.RESISTANT,
                         "RESISTANTE": Flag.RESISTANT}



@dataclass(frozen=True, slots=True)
class Assessment:
    flag: Flag
    source: str         # "lab", "pli" or "" (no flag at all)
    interpreted: bool   # False: shown raw, marked "not interpreted"
    #: 'critical', 'abnormal', 'normal' or 'unknown' (not interpreted, no sign of trouble).
    #: Worked out once here, not on each read: a report's severity, summary and ranking
    #: ask every result's severity again, and an import does that for every message.
    severity: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", _severity(self.flag, self.interpreted))


def _severity(flag: Flag, interpreted: bool) -> str:
    if flag in CRITICAL:
        return vocab.CRITICAL
    if flag in ABNORMAL:
        return vocab.ABNORMAL
    return "normal" if interpreted else "unknown"


# Every answer assess() gives is one of these few, made once (an import assesses every result).
_BY_LAB = {code: Assessment(flag, "lab", True) for code, flag in _KNOWN.items()}
_UNKNOWN_TO_PLI = Assessment(Flag.UNKNOWN, "lab", False)
_BY_PLI = {flag: Assessment(flag, "pli", True) for flag in Flag}
_NOT_JUDGED = Assessment(Flag.NONE, "", False)


@functools.lru_cache(maxsize=4096)
def assess(lab_flag: str, value: str, low: str, high: str) -> Assessment:
    """The flag to show for one result, and who set it.

    Cached: a report's severity, its summary, its ranked rows and the TUI's
    table each ask for every observation's assessment again; the answer
    depends only on these four strings, so it is worked out once.
    """
    code = lab_flag.strip().upper()
    if code:
        return _BY_LAB.get(code, _UNKNOWN_TO_PLI)
    written = susceptibility(value)
    if written is not None:
        return _BY_LAB[written.value]
    computed = _compare(value, low, high)
    if starred(value) and computed in (None, Flag.NORMAL):
        return _BY_LAB[Flag.ABNORMAL.value]   # the lab's own star: never shown normal or left unjudged
    return _NOT_JUDGED if computed is None else _BY_PLI[computed]


@functools.lru_cache(maxsize=4096)
def susceptibility(value: str) -> Flag | None:
    """S, I or R when a value is an antibiogram's interpretation ("R", "Sensible", "Résistant")."""
    if not value or len(value) > 16:
        return None
    word = unicodedata.normalize("NFKD", value.strip().upper()).encode("ascii", "ignore").decode()
    return _SUSCEPTIBILITY_WORDS.get(word)


def _compare(value: str, low: str, high: str) -> Flag | None:
    quantity = parse_quantity(value)
    low_n, high_n = to_number(low), to_number(high)
    if quantity is None or (low_n is None and high_n is None):
        return None
    if (low.strip() and low_n is None) or (high.strip() and high_n is None):
        return None  # half a range pli cannot read: judging on the other half would be a guess
    if low_n is not None and high_n is not None and low_n > high_n:
        return None  # low above high ("7 - 5.7"): a typo in the range, whichever bound is wrong
    # The interval of values the result stands for: "<0.5" is (-inf, 0.5), "12" is [12, 12].
    below, above = quantity.number, quantity.number
    if quantity.comparator.startswith("<"):
        # A range starting at 0 (or below) describes a quantity that cannot go lower:
        # "<0.5" against "0-5" is inside, not a guess.
        below = low_n if low_n is not None and low_n <= 0 <= quantity.number else float("-inf")
    elif quantity.comparator.startswith(">"):
        above = float("inf")
    if low_n is not None and above < low_n:
        return Flag.LOW
    if high_n is not None and below > high_n:
        return Flag.HIGH
    if quantity.comparator == "<" and low_n is not None and above == low_n:
        return Flag.LOW  # "<1" against a low of 1: every value it stands for is below
    if quantity.comparator == ">" and high_n is not None and below == high_n:
        return Flag.HIGH
    inside_low = low_n is None or below >= low_n
    inside_high = high_n is None or above <= high_n
    return Flag.NORMAL if inside_low and inside_high else None
