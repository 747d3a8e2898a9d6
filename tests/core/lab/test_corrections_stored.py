"""Corrections across stored messages: a later message for the same order replaces the values it repeats, and only those, whatever the import order."""
from dataclasses import replace
from itertools import permutations

from pli.core.lab.corrections import (Received, corrected_by, current, history_of, replaced_in, replacements,
                                      stored_order_key)
from pli.core.lab.model import Lab, Observation, Patient, ReferenceRange, Report

ZOE = Patient(last_name="FICTIF", first_name="Zoé", ssn="265040012345678")
K_HIGH = Observation("K", "Potassium", "6,8", "mmol/l", ReferenceRange("3,5", "5,0"), lab_flag="HH", status="F")
K_FIXED = replace(K_HIGH, value="4,5", lab_flag="", status="C")
NA = Observation("NA", "Sodium", "139", "mmol/l", ReferenceRange("136", "145"), status="F")
CULTURE = Observation("ECBU", "Culture", "Escherichia coli", status="F")


def report(*observations, reference="R240301", patient=ZOE, lab="LABM-ESTUAIRE") -> Report:
    return Report(patient=patient, observations=observations, lab=Lab(code=lab), reference=reference)


def received(message_id: str, when: float, rep: Report, sender: str = "LAB1") -> Received:
    return Received(rep, message_id, when, sender)


def test_the_later_message_replaces_the_value_it_repeats_and_leaves_the_others_current():
    first = received("m1", 100, report(K_HIGH, NA))
    second = received("m2", 200, report(K_FIXED))
    replaced = replacements([first, second])
    assert current(first, replaced).current == (NA,)   # the replaced value stays, marked as history
    assert current(first, replaced).observations == (replace(K_HIGH, superseded=True), NA)
    assert current(second, replaced).observations == (K_FIXED,)
    assert [(old.value, new.observation.value, new.message_id) for old, new in replaced_in(first, replaced)] \
        == [("6,8", "4,5", "m2")]
    assert corrected_by(second, [first, second], replaced) == [(K_HIGH, K_FIXED)]
    assert current(first, replaced).severity == "normal"   # the critical value is history now
    assert history_of(first, [first, second], replaced).replaced[0].observation == K_FIXED
    assert history_of(second, [first, second], replaced).corrects == {0: K_HIGH}


def test_the_order_of_arrival_does_not_matter_only_the_messages_dates():
    messages = [received("m1", 100, report(K_HIGH, NA)), received("m2", 200, report(K_FIXED)),
                received("m3", 300, report(replace(K_FIXED, value="4,6")))]
    expected = replacements(messages)
    for order in permutations(messages):
        assert replacements(list(order)) == expected
    assert {key[0] for key in expected} == {"m1", "m2"}
    assert all(rep.message_id == "m3" for rep in expected.values())


def test_late_results_for_the_same_order_replace_nothing():
    first = received("m1", 100, report(K_HIGH, NA))
    late = received("m2", 200, report(CULTURE))
    assert replacements([first, late]) == {}


def test_another_sender_patient_lab_or_request_number_is_another_order():
    first = received("m1", 100, report(K_HIGH))
    others = [received("x1", 200, report(K_FIXED), sender="SOMEONE-ELSE"),
              received("x2", 200, report(K_FIXED, patient=replace(ZOE, first_name="Léo"))),
              received("x3", 200, report(K_FIXED, lab="OTHER-LAB")),
              received("x4", 200, report(K_FIXED, reference="R240302")),
              received("x5", 200, report(K_FIXED), sender="")]
    for other in others:
        assert replacements([first, other]) == {}, other.message_id


def test_no_request_number_means_no_order_to_correct():
    assert stored_order_key("LAB1", report(K_HIGH, reference="")) == ""
    assert replacements([received("m1", 100, report(K_HIGH, reference="")),
                         received("m2", 200, report(K_FIXED, reference=""))]) == {}
    assert stored_order_key("LAB1", report(K_HIGH)) != stored_order_key("LAB2", report(K_HIGH))
    assert stored_order_key("LAB1", replace(report(K_HIGH), patient_uncertain=True)) == ""


def test_a_value_its_own_message_corrected_never_replaces_a_later_one():
    first = received("m1", 100, report(K_HIGH))
    second = received("m2", 200, report(replace(K_FIXED, value="4,4", superseded=True), K_FIXED))
    replaced = replacements([first, second])
    assert replaced[("m1", 0, 0)].observation == K_FIXED
