"""Corrections: a corrected result replaces the one it corrects, in one report and across reports of one order."""
from dataclasses import replace

from pli.core.lab import Observation, Patient, Report
from pli.core.lab.corrections import across, order_key, supersede, within
from pli.core.lab.model import Lab

ZOE = Patient("FICTIF", "Zoé")


def k(value, status="F", code="K"):
    return Observation(code, "Potassium", value, "mmol/L", status=status)


def report(*observations, reference="R1", patient=ZOE, lab="LAB"):
    return Report(patient, tuple(observations), lab=Lab(lab), reference=reference)


def test_within_a_report_only_a_corrected_status_replaces():
    marked = within([k("7.1"), Observation("NA", "Na", "140"), k("4.4", "C")])
    assert [o.superseded for o in marked] == [True, False, False]
    assert [o.superseded for o in within([k("7.1"), k("7.0")])] == [False, False]   # two measures, no correction
    assert [o.superseded for o in within([k("7.1"), k("5.0", "C"), k("4.4", "C")])] == [True, True, False]


def test_a_later_report_of_the_same_order_replaces_what_it_gives_again():
    earlier = report(k("2.6"), Observation("NA", "Na", "141"))
    later = report(k("3.8", "C"))
    updated = supersede(earlier, later)
    assert [o.superseded for o in updated.observations] == [True, False]
    assert [o.value for o in updated.current] == ["141"]
    assert supersede(updated, later) == updated


def test_another_order_patient_or_lab_replaces_nothing():
    earlier = report(k("2.6"))
    for later in (report(k("3.8"), reference="R2"), report(k("3.8"), patient=Patient("EXEMPLE", "Noël")),
                  report(k("3.8"), lab="OTHER"), report(k("3.8"), reference="")):
        assert supersede(earlier, later) is earlier
    assert order_key(report(k("1"), reference="")) is None
    assert order_key(replace(earlier, patient_uncertain=True)) is None


def test_across_a_file_each_report_is_replaced_by_the_later_ones_of_its_order():
    first, second, third = report(k("2.6")), report(k("3.1"), reference="R2"), report(k("3.8", "C"))
    a, b, c = across([first, second, third])
    assert [o.superseded for o in a.observations] == [True]
    assert b is second and c is third
