"""`pli send message --patient/--ins` (MSSanté documents): what the practitioner types is checked before anything is built."""
from __future__ import annotations

from datetime import date

import pytest

from pli.core.cli.send import _patient
from pli.core.errors import UsageError


def test_a_patient_with_its_ins_is_read_as_the_package_names_it():
    patient = _patient("FICTIF, Zoé, 1980-02-29", "280029912345678")
    assert (patient.family, patient.given, patient.birth_date) == ("FICTIF", "Zoé", date(1980, 2, 29))
    assert patient.ins.extension == "280029912345678"


@pytest.mark.parametrize("text", ["FICTIF Zoé 1980-02-29", "FICTIF, Zoé", "FICTIF, Zoé, 29/02/1980",
                                  ", Zoé, 1980-02-29", "FICTIF, , 1980-02-29", "FICTIF, Zoé, 1980-02-30"])
def test_a_patient_not_in_the_documented_form_is_a_usage_error_naming_it(text):
    with pytest.raises(UsageError, match="is not 'FAMILY, Given, YYYY-MM-DD'"):
        _patient(text, None)


@pytest.mark.parametrize("ins", ["12345", "2800299123456789", "28002991234567A"])
def test_an_ins_that_is_not_15_digits_is_refused(ins):
    with pytest.raises(UsageError, match="not an INS"):
        _patient("FICTIF, Zoé, 1980-02-29", ins)


def test_an_ins_without_its_patient_is_refused():
    with pytest.raises(UsageError, match="--ins needs --patient"):
        _patient(None, "280029912345678")
