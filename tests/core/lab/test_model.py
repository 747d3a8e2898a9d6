"""The result model: patient keys, summaries, severities, critical-first order, trends."""
from dataclasses import replace
from datetime import date, datetime

import pytest

from pli.core.lab import Observation, Patient, ReferenceRange, Report, series
from pli.core.lab.model import Organism, Susceptibility, identity_conflicts
from pli.core.lab.flags import Flag


def obs(code, value, low="", high="", flag="", label=None):
    return Observation(code, label or code, value, "u", ReferenceRange(low, high), flag)


def test_patient_key_holds_a_hash_of_the_social_security_number_never_the_number():
    patient = Patient("FICTIF", "Zoé", date(1965, 4, 12), ssn="2 65 04 00 123 456 78")
    same = Patient("Fictif", "Zoe", date(1965, 4, 12), ssn="2650400123456")
    assert patient.key == same.key and patient.key.startswith("fictif-zoe-19650412-n")
    assert "2650400" not in patient.key


def test_the_number_alone_is_not_a_patient():
    # A child is often sent under a parent's social-security number: two people, two keys.
    mother = Patient("FICTIF", "Zoé", date(1965, 4, 12), ssn="2650400123456")
    child = Patient("FICTIF", "Léo", date(2015, 2, 3), ssn="2650400123456")
    assert mother.key != child.key
    assert identity_conflicts([mother, child, mother]) == [
        "same social-security number for FICTIF Zoé (12/04/1965) and FICTIF Léo (03/02/2015): kept as two patients"]


def test_same_name_and_birth_date_with_other_numbers_is_named_too():
    one = Patient("FICTIF", "Zoé", date(1965, 4, 12), ssn="2650400123456")
    other = Patient("FICTIF", "Zoé", date(1965, 4, 12), ssn="2650400999999")
    assert one.key != other.key
    assert "other social-security numbers" in identity_conflicts([one, other])[0]
    assert identity_conflicts([one, Patient("EXEMPLE", "Noël", date(1980, 1, 1))]) == []


def test_patient_key_reads_corsican_numbers_and_only_ascii_digits():
    corsican = Patient("FICTIF", "Zoé", ssn="1 85 2A 123 456 78")
    assert corsican.key == Patient("FICTIF", "Zoé", ssn="1852a12345678").key != \
        Patient("FICTIF", "Zoé", ssn="1852012345678").key
    # Digits of another script are no social-security number: the key has no number part.
    assert Patient("FICTIF", "Zoé", ssn="١٨٥٠٢١٢٣٤٥٦٧٨").key == "fictif-zoe-nodob"


@pytest.mark.parametrize("patient, key", [
    (Patient("Lefèvre-Hélène", "Zoé Anaïs", date(1965, 4, 12)), "lefevre-helene-zoe-anais-19650412"),
    (Patient("O'BRIEN", "Noël"), "o-brien-noel-nodob"),
    (Patient("", ""), "unnamed-nodob"),
])
def test_patient_key_without_number_is_tag_safe(patient, key):
    assert patient.key == key
    assert patient.key.isascii() and " " not in patient.key and patient.key == patient.key.lower()


def test_summary_names_abnormal_results_critical_first():
    report = Report(Patient("FICTIF"), (obs("Na", "140", "136", "145"), obs("Creat", "180", "60", "110"),
                                        obs("K", "6.8", flag="HH"), obs("X", "?", flag="W")))
    assert report.summary() == "K 6.8 HH, Creat 180 H, X ? W?"
    assert report.severity == "critical"
    assert [o.code for o in report.ranked()] == ["K", "Creat", "X", "Na"]


def test_summary_counts_what_pli_could_not_judge_and_never_calls_it_normal():
    report = Report(Patient("FICTIF"), (obs("Na", "140", "136", "145"), obs("Asp", "trouble")))
    assert (report.summary(), report.severity) == ("2 results: 1 normal, 1 not interpreted", "normal")
    flagged = Report(Patient("FICTIF"), (obs("K", "6.8", flag="HH"), obs("Asp", "trouble"),
                                         obs("B12", "Non réalisé")))
    assert flagged.summary() == "K 6.8 HH; 1 not interpreted, 1 not done"
    assert Report(Patient("FICTIF"), (obs("Na", "140", "136", "145"),)).summary() == "normal (1 result)"


def test_a_second_unit_range_flags_a_result_whose_first_unit_has_none():
    lymphocytes = Observation("LY", "Lymphocytes", "33.0", "%", value2="964", unit2="/mm3",
                              reference2=ReferenceRange("1000", "4000"))
    assert (lymphocytes.flag, lymphocytes.flag_source) == (Flag.LOW, "pli")
    # Both ranges judge: an abnormal answer from either is not missed.
    both = Observation("CT", "Cholestérol", "1,99", "g/l", ReferenceRange("", "2,00"), value2="5,67",
                       unit2="mmol/l", reference2=ReferenceRange("", "5,18"))
    assert both.flag is Flag.HIGH
    # The lab's flag still wins.
    assert Observation("LY", "L", "33", lab_flag="N", value2="964", reference2=ReferenceRange("1000", "")).flag \
        is Flag.NORMAL


@pytest.mark.parametrize("value, status, state", [
    ("4.1", "F", "final"), ("4.1", "C", "corrected"), ("4.1", "R", "preliminary"), ("4.1", "P", "preliminary"),
    ("", "X", "not done"), ("Non réalisé", "", "not done"), ("non effectué (tube coagulé)", "F", "not done"),
    ("Annulé", "", "not done"), ("Négatif", "F", "final"), ("NR", "F", "final"),
])
def test_result_states(value, status, state):
    observation = Observation("X", "X", value, status=status)
    assert observation.state == state
    assert observation.not_done == (state == "not done")
    if observation.not_done:
        assert not observation.interpreted and observation.flag is Flag.NONE


def test_a_replaced_result_is_history_not_current():
    old = obs("K", "6.9", flag="HH")
    report = Report(Patient("FICTIF"), (replace(old, superseded=True), obs("K", "4.4", flag="N")))
    assert report.current == (report.observations[1],)
    assert (report.severity, report.summary()) == ("normal", "normal (1 result)")
    assert [o.value for o in report.ranked()] == ["4.4"]


def test_a_resistant_organism_makes_the_report_abnormal():
    amx = Observation("AMX", "Amoxicilline", "R")
    organism = Organism("Escherichia coli", note="BLSE",
                        susceptibilities=(Susceptibility("Amoxicilline", "AMX", "R", observation=0),))
    report = Report(Patient("FICTIF"), (amx,), organisms=(organism,))
    assert organism.resistant and organism.multi_resistant
    assert (report.severity, report.summary()) == ("abnormal", "Escherichia coli BLSE")


def test_summary_stays_short():
    report = Report(Patient("FICTIF"), tuple(obs(f"T{i}", "9", high="5") for i in range(7)))
    assert report.summary() == "T0 9 H, T1 9 H, T2 9 H, T3 9 H, +3 more"


@pytest.mark.parametrize("results", [
    (obs("Na", "140", "136", "145"), obs("Creat", "180", "60", "110"), obs("K", "6.8", flag="HH")),
    (obs("Na", "140", "136", "145"), obs("Asp", "trouble")),
    (obs("Ca", "1.9", "2.2", "2.6"), obs("X", "?", flag="W")),
    (),
])
def test_overview_is_the_severity_and_the_summary(results):
    report = Report(Patient("FICTIF"), results)
    assert report.overview() == (report.severity, report.summary())
    assert report.overview(1) == (report.severity, report.summary(1))


def test_short_names_prefer_the_shorter_of_code_and_label():
    assert obs("Creat", "1", label="Créatinine").short_name == "Creat"
    assert obs("GLYCEMIE-A-JEUN", "1", label="Gly").short_name == "Gly"
    # a numeric code (LOINC, as the GHH LAB example on wiki.hl7.de sends in OBX-3) is no name
    assert obs("1554-5", "182", label="GLUCOSE").short_name == "GLUCOSE"


def test_a_report_with_nothing_pli_could_judge_is_not_announced_as_normal():
    from pli.core.lab.render import render
    unjudged = Report(Patient("FICTIF"), (obs("CREATININE", "165.6"),))
    judged = Report(Patient("FICTIF"), (obs("Na", "140", "136", "145"), obs("Asp", "trouble")))
    assert "NOT INTERPRETED: 1 result: 1 not interpreted" in render(unjudged)
    assert "NORMAL: 2 results: 1 normal, 1 not interpreted" in render(judged)


def test_a_report_without_results_is_never_announced_as_normal():
    """A text report, or an HL7 order sent before its results (an OBR without OBX): nothing was judged."""
    from pli.core.lab.render import render
    text_only = Report(Patient("FICTIF"), (), text="Compte rendu : voir le texte.")
    assert "READ THE TEXT: no results (text only)" in render(text_only)
    assert "NORMAL" not in render(text_only).split("\n")[2]


def test_series_of_one_test_for_one_patient_oldest_first():
    zoe, noel = Patient("FICTIF", "Zoé"), Patient("EXEMPLE", "Noël")
    reports = [
        Report(zoe, (Observation("K", "Potassium", "6,8", "mmol/l", ReferenceRange("3,5", "5,0"), "HH",
                                 loinc="2823-3"),), collected=datetime(2024, 3, 1)),
        Report(zoe, (obs("K", "<2", "3.5", "5.0"),), collected=datetime(2024, 1, 1)),
        Report(noel, (obs("K", "4.0"),), collected=datetime(2024, 2, 1)),
        Report(zoe, (obs("K", "4.1"),), collected=None),                # no date: cannot be placed
        Report(zoe, (obs("K", "<2", "3.5", "5.0"),), collected=datetime(2024, 1, 1)),  # stored twice
    ]
    points = series(reports, zoe.key, "K")
    assert [(p.when.month, p.value, p.flag) for p in points] == [(1, "<2", Flag.LOW), (3, 6.8, Flag.CRITICAL_HIGH)]
    assert [p.value for p in series(reports, zoe.key, "2823-3")] == [6.8]   # by LOINC code too
