"""A child sent under a parent's social-security number is another patient: another tag, another trend,
and the store names each to the other."""
import sys
from pathlib import Path

import pytest

from pli.core.crypto.envelope import seal_mail
from pli.core.lab.trends import series
from pli.core.store import Store
from pli.core.store.importer import import_sources
from pli.core.store.patients import describe, related

from store_fixtures import sealing_pair, make_maildir

sys.path.insert(0, str(Path(__file__).parent.parent / "lab"))
from mail_bodies import mail  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "lab-wild"
MOTHER = "fictif-zoe-19650412-ndb5d35de2b"
CHILD = "fictif-leo-20150203-ndb5d35de2b"


def test_a_mother_and_her_child_under_one_number_stay_two_patients_in_tags_and_trends(tmp_path):
    lab, doctor = sealing_pair(tmp_path)
    files = ["h26-child-under-parent-nir.hpr", "l10-batch-mother-child.hl7"]
    make_maildir(tmp_path / "in", [seal_mail(mail((CORPUS / name).read_bytes(), subject=name), lab,
                                             ["doctor@pli.test"]) for name in files])
    import_sources(doctor.home, [tmp_path / "in"], keyring=doctor, workers=1)
    with Store.open(doctor.home) as store:
        rows = store.window("tag:lab", 0, 10)
        assert len(rows) == 2
        for row in rows:
            assert {t for t in row.tags if t.startswith("patient:")} == {f"patient:{MOTHER}", f"patient:{CHILD}"}
            assert row.patient == "2 patients"
        reports = [report for row in rows for report in store.lab_reports(row.message_id)[0]]
        assert store.count(f'tag:"patient:{MOTHER}"') == store.count(f'tag:"patient:{CHILD}"') == 2
        tags = store.all_tags()
    assert [p.value for p in series(reports, MOTHER, "FERR")] == [12.0]
    assert [p.value for p in series(reports, CHILD, "FERR")] == [35.0]
    assert [p.value for p in series(reports, MOTHER, "HB")] == [11.0]
    assert [(r.key, r.why) for r in related(tags, MOTHER)] == [(CHILD, "same social-security number")]
    assert [r.key for r in related(tags, CHILD)] == [MOTHER]


@pytest.mark.parametrize("tags, key, expected", [
    (["patient:dupont-jean-19500101-nabc", "patient:dupont-jean-19500101-ndef"], "dupont-jean-19500101-nabc",
     [("dupont-jean-19500101-ndef", "same name and birth date, another or no number")]),
    (["patient:dupont-jean-19500101", "patient:dupont-jean-19500101-nabc"], "dupont-jean-19500101-nabc",
     [("dupont-jean-19500101", "same name and birth date, another or no number")]),
    (["patient:dupont-jean-nodob", "patient:dupont-jean-nodob-nabc"], "dupont-jean-nodob-nabc", []),
    (["patient:martin-paul-19600101-nxyz", "patient:dupont-jean-19600101-nxyz", "lab"], "dupont-jean-19500101-nabc", []),
])
def test_related_patients_are_found_by_number_or_by_name_and_birth_date_never_by_name_alone(tags, key, expected):
    assert [(r.key, r.why) for r in related(tags + [f"patient:{key}"], key)] == expected


def test_a_key_reads_as_names_and_birth_date():
    assert describe(CHILD) == "fictif leo, born 03.02.2015"
    assert describe("dupont-jean-nodob") == "dupont jean, born no birth date"
