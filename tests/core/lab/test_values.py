"""Values and ranges as labs write them: decimal commas, comparators, open ranges."""
import pytest

from pli.core.lab.values import (Quantity, decimal_digits, parse_quantity, split_range, split_value_unit,
                                 starred, to_number)


@pytest.mark.parametrize("text, number", [("12,5", 12.5), ("12.5", 12.5), (" 7 ", 7.0), ("-2", -2.0),
                                          (",5", 0.5)])
def test_plain_numbers_read_with_point_or_comma(text, number):
    assert to_number(text) == number


@pytest.mark.parametrize("text, number", [("45 000", 45000.0), ("1 250 000", 1250000.0), ("150\u00a0000", 150000.0),
                                          ("12 345,5", 12345.5)])
def test_thousands_grouped_with_a_space_are_read(text, number):
    """French labs write platelets "45 000": read as a number, so that no flag means pli compares."""
    assert to_number(text) == number and parse_quantity("< " + text) == Quantity("<", number)
    assert split_range(f"150 000 - {text}") == ("150 000", text)


@pytest.mark.parametrize("text", ["", "1.234,5", "1:40", "12.5.3", "+++", "négatif", "1 00", "12 3456", "1 000 0",
                                  "12,5 mmol"])
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


@pytest.mark.parametrize("text, bounds", [
    ("3.5 - 5.0 mmol/L", ("3.5", "5.0")), ("[0.5-1.2]", ("0.5", "1.2")), ("(3.5-5.0)", ("3.5", "5.0")),
    ("inf. à 34", ("", "34")), ("sup. à 27,0", ("27,0", "")), ("inférieur à 5", ("", "5")), ("jusqu'à 15", ("", "15")),
    ("70_105", ("70", "105")), ("< 5 mg/l", ("", "5")), ("3,5 à 5,0", ("3,5", "5,0")), ("de 3,5 à 5,0", ("3,5", "5,0")),
    ("4-10 10^9/L", ("4", "10")),
    ("vr : 4000 à 10000", ("4000", "10000")), ("VR: 3,5-5,0", ("3,5", "5,0")), ("N : < 5", ("", "5")),
    ("Valeurs de référence : 0,70 - 1,10 g/l", ("0,70", "1,10")),
])
def test_ranges_as_labs_write_them_in_the_wild(text, bounds):
    assert split_range(text) == bounds


def test_a_text_holding_two_ranges_is_not_split():
    assert split_range("3.5-5.0 adultes 2-4 enfants") is None
    assert split_range("Adultes : 3.5-5.0, enfants : 2-4") is None   # a label is no licence to guess


@pytest.mark.parametrize("text, split", [("< 0.12  mg/l", ("< 0.12", "mg/l")), ("5,2 mmol/l", ("5,2", "mmol/l")),
                                         ("Négatif", None), ("12", None), ("1 000", None)])
def test_a_value_written_with_its_unit(text, split):
    assert split_value_unit(text) == split


def test_an_equals_sign_says_exactly():
    assert parse_quantity("=128") == Quantity("", 128.0)


@pytest.mark.parametrize("text, quantity", [
    ("141000*", Quantity("", 141000.0)), ("*141000*", Quantity("", 141000.0)), ("185 *", Quantity("", 185.0)),
    ("*<0,5", Quantity("<", 0.5)),
])
def test_a_value_the_lab_starred_is_still_its_number(text, quantity):
    # French labs print an out-of-range value with a star (HPRIM Tool's reader, built on 692 lab files,
    # strips it as "valeurs anormales mises en évidence"): the number was unreadable, so no flag at all.
    assert starred(text) and parse_quantity(text) == quantity
    assert decimal_digits(text) == str(quantity.number).removesuffix(".0")   # FHIR's exact digits


@pytest.mark.parametrize("text, quantity", [("*", None), ("**", None), (" * ", None), ("1*2", None),
                                            ("12", Quantity("", 12.0)), ("Positif", None)])
def test_a_star_alone_or_inside_is_no_starred_value(text, quantity):
    assert not starred(text) and parse_quantity(text) == quantity
