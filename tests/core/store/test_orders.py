"""A later message for a stored lab order: the earlier one's replaced values stop counting as current,
in tags and list summaries, whatever order the messages are imported in."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.pairing import introduce
from pli.core.store import Store
from pli.core.store.importer import import_sources

from crypto_fixtures import make_keyring
from store_fixtures import sealing_pair, make_maildir

sys.path.insert(0, str(Path(__file__).parent.parent / "lab"))
from mail_bodies import HEADER, encode, hprim_body, mail  # noqa: E402

FIRST = ["****LAB****", "RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|F|", "RES|Sodium|NA|N|139|mmol/l|136|145||F|",
         "****FINLAB****"]
CORRECTED = ["****LAB****", "RES|Potassium|K|N|4,5|mmol/l|3,5|5,0||C|", "****FINLAB****"]
LATE = ["****LAB****", "RES|Ferritine|FERR|N|15|µg/l|20|300|L|F|", "****FINLAB****"]
DAY = 86400
CLI = [sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())"]
T0 = 1_709_546_400   # 4 March 2024


@pytest.fixture
def pair(tmp_path):
    return sealing_pair(tmp_path)


def lab_mail(lab, subject: str, block: list[str], when: int, header=HEADER) -> bytes:
    inner = mail(encode(hprim_body(header, lab=block)), subject=subject, charset="iso-8859-1")
    return seal_mail(inner, lab, ["doctor@pli.test"], now=when)


def rows(home) -> dict:
    with Store.open(home) as store:
        return {row.subject: row for row in store.window("*", 0, 50)}


@pytest.mark.parametrize("arrival", ["in order", "correction first"])
def test_a_correction_replaces_the_critical_value_of_the_earlier_message_everywhere(pair, tmp_path, arrival):
    lab, doctor = pair
    first = lab_mail(lab, "first", FIRST, T0)
    correction = lab_mail(lab, "correction", CORRECTED, T0 + DAY)
    for number, raw in enumerate([first, correction] if arrival == "in order" else [correction, first]):
        (tmp_path / f"{number}.eml").write_bytes(raw)
        import_sources(doctor.home, [tmp_path / f"{number}.eml"], keyring=doctor, workers=1)
    found = rows(doctor.home)
    earlier, later = found["first"], found["correction"]
    assert {"superseded", "lab"} <= earlier.tags and not {"critical", "abnormal", "supersedes"} & earlier.tags
    assert earlier.lab_summary == "normal (1 result); replaced by a later report: K 4,5 (was 6,8 HH)"
    assert "supersedes" in later.tags and not {"critical", "abnormal", "superseded"} & later.tags
    assert later.lab_summary == "normal (1 result); corrects K 4,5 (was 6,8 HH)"
    with Store.open(doctor.home) as store:
        assert store.count("tag:critical") == 0


def test_one_batch_holding_both_messages_is_settled_too_and_a_rerun_changes_nothing(pair, tmp_path):
    lab, doctor = pair
    make_maildir(tmp_path / "in", [lab_mail(lab, "correction", CORRECTED, T0 + DAY), lab_mail(lab, "first", FIRST, T0)])
    import_sources(doctor.home, [tmp_path / "in"], keyring=doctor, workers=1)
    settled = {subject: (row.tags, row.lab_summary) for subject, row in rows(doctor.home).items()}
    assert "superseded" in settled["first"][0] and "supersedes" in settled["correction"][0]
    again = import_sources(doctor.home, [tmp_path / "in"], keyring=doctor, workers=1)
    assert again.already == 2
    assert {s: (r.tags, r.lab_summary) for s, r in rows(doctor.home).items()} == settled


def test_late_results_another_lab_or_another_patient_leave_the_first_message_as_it_was(pair, tmp_path):
    lab, doctor = pair
    stranger = make_keyring(tmp_path, "other-lab", 7)
    introduce(stranger, doctor)
    child = HEADER[:2] + ["Léo", *HEADER[3:6], "02/02/2015", *HEADER[7:]]   # sent under the parent's number
    make_maildir(tmp_path / "in", [
        lab_mail(lab, "first", FIRST, T0),
        lab_mail(lab, "late results", LATE, T0 + DAY),
        lab_mail(stranger, "another sender", CORRECTED, T0 + 2 * DAY),
        lab_mail(lab, "the child", CORRECTED, T0 + 3 * DAY, header=child),
    ])
    import_sources(doctor.home, [tmp_path / "in"], keyring=doctor, workers=1)
    found = rows(doctor.home)
    assert {"critical", "abnormal"} <= found["first"].tags and "superseded" not in found["first"].tags
    assert found["first"].lab_summary == "K 6,8 HH"
    for subject in ("late results", "another sender", "the child"):
        assert not {"superseded", "supersedes"} & found[subject].tags, subject


def imported_pair(pair, tmp_path) -> dict:
    lab, doctor = pair
    make_maildir(tmp_path / "in", [lab_mail(lab, "first", FIRST, T0), lab_mail(lab, "correction", CORRECTED, T0 + DAY)])
    import_sources(doctor.home, [tmp_path / "in"], keyring=doctor, workers=1)
    return {subject: row.message_id for subject, row in rows(doctor.home).items()}


def pli(home, *args) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + ["--home", str(home.root), *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1"})


def test_pli_lab_show_marks_the_replaced_value_as_history_and_the_correction_as_such(pair, tmp_path):
    ids = imported_pair(pair, tmp_path)
    home = pair[1].home
    earlier = pli(home, "lab", "show", f"id:{ids['first']}")
    assert earlier.returncode == 0, earlier.stderr
    heading = earlier.stdout.splitlines()[2]
    assert heading == "NORMAL: normal (1 result) (1 replaced, shown as history)"
    potassium = next(line for line in earlier.stdout.splitlines() if "Potassium" in line)
    assert potassium.rstrip().endswith("replaced (history)") and "▲" not in potassium
    assert "↺ replaced by 4,5 mmol/l in the report of" in earlier.stdout
    later = pli(home, "lab", "show", f"id:{ids['correction']}")
    assert "✎ corrects 6,8 mmol/l HH of an earlier report" in later.stdout


def test_exports_carry_the_current_value_never_the_replaced_one(pair, tmp_path):
    from pli.core.lab.export_folder import export_to_folder

    ids = imported_pair(pair, tmp_path)
    home = pair[1].home
    single = subprocess.run(CLI + ["--home", str(home.root), "lab", "export", "--hprim", f"id:{ids['first']}"],
                            capture_output=True)
    assert single.returncode == 0, single.stderr
    assert b"RES|Sodium|NA|" in single.stdout and b"Potassium" not in single.stdout
    assert "1 result of FICTIF Zoé's report R240301 replaced by a later report" in single.stderr.decode()
    fhir = pli(home, "lab", "export", "--fhir", f"id:{ids['first']}")
    assert fhir.returncode == 0, fhir.stderr
    values = [entry["resource"].get("valueQuantity", {}).get("value") for entry in json.loads(fhir.stdout)["entry"]
              if entry["resource"]["resourceType"] == "Observation"]
    assert values == [139]   # sodium; the replaced potassium is not exported as a current value
    with Store.open(home) as store:
        done = export_to_folder(store, [ids["first"], ids["correction"]], "hprim", tmp_path / "out")
    texts = [path.read_bytes().decode("cp1252") for path in done.written]
    assert len(texts) == 2 and sum("|6,8|" in text for text in texts) == 0
    assert sum("|4,5|" in text for text in texts) == 1
    assert done.replaced == 1 and "1 result replaced by a later report left out" in done.summary("hprim", tmp_path)


def test_settling_a_batch_without_a_shared_order_reads_no_message_again(pair, tmp_path):
    """A batch of 150 lab messages, some answering two orders (two patients in one file): no order has
    two messages, so nothing is re-read or re-tagged (a message with two orders was counted twice when
    the keys were counted by groups of queries, and the whole batch was settled again)."""
    from pli.core.lab.generator import generate
    from pli.core.store import database
    from pli.core.store.layout import Layout
    from pli.core.store.orders import settle

    lab, doctor = pair
    generated = generate(150, seed=11)
    assert any(len(g.reports) > 1 for g in generated)
    make_maildir(tmp_path / "in", [seal_mail(g.inner_bytes, lab, ["doctor@pli.test"]) for g in generated])
    import_sources(doctor.home, [tmp_path / "in"], keyring=doctor, workers=1)
    with database.open_write(Layout(doctor.home)) as db:
        new: dict[str, set[str]] = {}
        for message in db.messages("tag:lab"):
            for _, key in message.properties.getall("pli.order", exact=True):
                new.setdefault(key, set()).add(message.messageid)
        assert len(new) > 150 and all(len(ids) == 1 for ids in new.values())
        assert settle(db, new) == 0
    assert not any("superseded" in row.tags or "supersedes" in row.tags for row in rows(doctor.home).values())
