"""The abnormal-flag rules: the lab's flag wins, pli computes only what the range proves."""
import pytest

from pli.core.lab.flags import Flag, assess


@pytest.mark.parametrize("lab_flag, flag", [("L", Flag.LOW), ("H", Flag.HIGH), ("LL", Flag.CRITICAL_LOW),
                                            ("HH", Flag.CRITICAL_HIGH), ("A", Flag.ABNORMAL),
                                            ("AA", Flag.CRITICAL_ABNORMAL), ("N", Flag.NORMAL),
                                            ("<", Flag.BELOW_SCALE), (">", Flag.ABOVE_SCALE), (" h ", Flag.HIGH)])
def test_every_lab_flag_is_understood_and_attributed_to_the_lab(lab_flag, flag):
    result = assess(lab_flag, "4.2", "3.5", "5.0")
    assert (result.flag, result.source, result.interpreted) == (flag, "lab", True)


def test_the_labs_flag_wins_over_the_range():
    # In range by the numbers, but the lab says high (e.g. its own age-specific limits).
    assert assess("H", "4.2", "3.5", "5.0").flag is Flag.HIGH
    assert assess("N", "9.9", "3.5", "5.0").flag is Flag.NORMAL


@pytest.mark.parametrize("value, low, high, flag", [
    ("6,8", "3,5", "5,0", Flag.HIGH), ("2.1", "3.5", "5.0", Flag.LOW), ("4.2", "3.5", "5.0", Flag.NORMAL),
    ("5.0", "3.5", "5.0", Flag.NORMAL), ("12", "", "5", Flag.HIGH), ("0.5", "1", "", Flag.LOW),
    ("<0.5", "1", "5", Flag.LOW), (">1000", "0", "400", Flag.HIGH), ("<5", "", "5", Flag.NORMAL),
    ("<1", "1", "5", Flag.LOW), ("<0.5", "0", "5", Flag.NORMAL),
])
def test_without_a_flag_pli_compares_and_says_so(value, low, high, flag):
    result = assess("", value, low, high)
    assert (result.flag, result.source, result.interpreted) == (flag, "pli", True)


@pytest.mark.parametrize("value, low, high, flag, source", [
    ("*141000*", "150000", "400000", Flag.LOW, "pli"),   # the star read off: the number judged
    ("185 *", "60", "120", Flag.HIGH, "pli"),
    ("85*", "60", "120", Flag.ABNORMAL, "lab"),         # starred inside its range: the lab's mark wins
    ("12*", "", "", Flag.ABNORMAL, "lab"),               # no range: the lab's star says abnormal
])
def test_a_value_the_lab_starred_is_never_normal_nor_left_unjudged(value, low, high, flag, source):
    result = assess("", value, low, high)
    assert (result.flag, result.source, result.severity) == (flag, source, "abnormal")


def test_pli_never_invents_a_critical_flag():
    result = assess("", "9.5", "3.5", "5.0")   # a potassium of 9.5: the lab must say HH, not pli
    assert result.flag is Flag.HIGH and result.severity == "abnormal"


@pytest.mark.parametrize("value, low, high", [
    ("négatif", "", ""), ("12", "", ""), ("<10", "1", "5"), (">2", "1", "5"), ("4", "abc", "5"),
    ("", "1", "5"), ("1:40", "", "1:80"),
    # A range whose low is above its high (libHprim's example file: 3.98 against "7 - 5.7"): no flag can
    # come from it; 6 was flagged L, though 6 may be normal for the range the lab meant.
    ("6", "7", "5.7"), ("3.98", "7", "5.7"), ("8", "7", "5.7"),
])
def test_what_pli_cannot_judge_is_not_interpreted(value, low, high):
    result = assess("", value, low, high)
    assert (result.flag, result.source, result.interpreted, result.severity) == (Flag.NONE, "", False, "unknown")


def test_an_unknown_lab_flag_is_kept_not_interpreted_and_looked_at():
    result = assess("W", "4.2", "3.5", "5.0")
    assert (result.flag, result.interpreted, result.severity) == (Flag.UNKNOWN, False, "abnormal")
