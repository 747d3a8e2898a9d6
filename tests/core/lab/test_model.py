"""The result model: patient keys, summaries, severities, critical-first order, trends."""
from datetime import date, datetime

import pytest

from pli.core.lab import Observation, Patient, ReferenceRange, Report, series
from pli.core.lab.flags import Flag


def obs(code, value, low="", high="", flag="", label=None):
    return Observation(code, label or code, value, "u", ReferenceRange(low, high), flag)


def test_patient_key_from_the_social_security_number_hides_it():
    patient = Patient("FICTIF", "Zoé", date(1965, 4, 12), ssn="2 65 04 00 123 456 78")
    same = Patient("Fictif", "Zoe", None, ssn="2650400123456")
    assert patient.key == same.key and patient.key.startswith("n")
    assert "2650400" not in patient.key


def test_patient_key_reads_corsican_numbers_and_only_ascii_digits():
    corsican = Patient("FICTIF", "Zoé", ssn="1 85 2A 123 456 78")
    assert corsican.key == Patient(ssn="1852a12345678").key != Patient(ssn="1852012345678").key
    # Digits of another script are no social-security number: the key falls back to the name.
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


def test_summary_of_a_normal_report_counts_what_pli_could_not_judge():
    report = Report(Patient("FICTIF"), (obs("Na", "140", "136", "145"), obs("Asp", "trouble")))
    assert (report.summary(), report.severity) == ("normal (2 results, 1 not interpreted)", "normal")


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
