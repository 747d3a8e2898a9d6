"""Values and ranges as labs write them: decimal commas, comparators, open ranges."""
import pytest

from pli.core.lab.values import Quantity, parse_quantity, split_range, to_number


@pytest.mark.parametrize("text, number", [("12,5", 12.5), ("12.5", 12.5), (" 7 ", 7.0), ("-2", -2.0),
                                          (",5", 0.5)])
def test_plain_numbers_read_with_point_or_comma(text, number):
    assert to_number(text) == number


@pytest.mark.parametrize("text", ["", "1.234,5", "1:40", "12.5.3", "+++", "négatif", "1 000", "12,5 mmol"])
def test_anything_else_is_not_a_number(text):
    assert to_number(text) is None
    assert parse_quantity(text) is None


@pytest.mark.parametrize("text, quantity", [
    ("<0.5", Quantity("<", 0.5)), ("> 1000", Quantity(">", 1000.0)), ("<=3", Quantity("<=", 3.0)),
    ("≥ 2,5", Quantity(">=", 2.5)), ("6,8", Quantity("", 6.8)),
])
def test_comparators_are_kept(text, quantity):
    assert parse_quantity(text) == quantity


@pytest.mark.parametrize("text, bounds", [
    ("3.5-5.0", ("3.5", "5.0")), ("3,5 - 5,0", ("3,5", "5,0")), ("<5", ("", "5")), (">40", ("40", "")),
    ("-2-2", ("-2", "2")), ("0.8 – 1.2", ("0.8", "1.2")), ("≤ 3", ("", "3")),
])
def test_ranges_split_into_the_labs_own_digits(text, bounds):
    assert split_range(text) == bounds


@pytest.mark.parametrize("text", ["négatif", "voir commentaire", "3.5-", "1:40", ""])
def test_unreadable_ranges_are_none(text):
    assert split_range(text) is None
