"""core/mail/routing.py without a server: the patient a practitioner types (compose's form, `--patient`), which
messages need one, and the local id of a patient without INS."""
from __future__ import annotations

from datetime import date
from email.message import EmailMessage

import pytest

from pli.core.errors import UsageError
from pli.core.mail.routing import needs_patient, patient_identity
from pli.core.xdm.compose import Sender, named_locally


def test_a_patient_with_an_ins_is_named_by_it():
    patient = patient_identity(" FICTIF ", "Zoé", "1965-04-12", " 265040000123407 ")
    assert (patient.family, patient.given, patient.birth_date) == ("FICTIF", "Zoé", date(1965, 4, 12))
    assert patient.ins.is_ins and patient.ins.extension == "265040000123407"


@pytest.mark.parametrize("family, given, born, ins, named", [
    ("", "Zoé", "1965-04-12", "", "family and given names"),
    ("FICTIF", " ", "1965-04-12", "", "family and given names"),
    ("FICTIF", "Zoé", "12/04/1965", "", "'12/04/1965' is not a date written YYYY-MM-DD"),
    ("FICTIF", "Zoé", "1965-02-30", "", "is not a date"),
    ("FICTIF", "Zoé", "1965-04-12", "26504000012340", "not an INS (15 digits"),
    ("FICTIF", "Zoé", "1965-04-12", "26504000012340A", "not an INS (15 digits"),
])
def test_what_is_wrong_in_the_patient_is_one_usage_error_naming_the_field(family, given, born, ins, named):
    with pytest.raises(UsageError, match=named.replace("(", r"\(")) as refused:
        patient_identity(family, given, born, ins)
    assert "\n" not in str(refused.value)


def _message(*attachments: str) -> EmailMessage:
    msg = EmailMessage()
    msg.set_content("texte")
    for mime in attachments:
        maintype, subtype = mime.split("/")
        msg.add_attachment(b"<x/>" if "xml" in mime else b"%PDF-1.4", maintype=maintype, subtype=subtype,
                           filename="f")
    return msg


def test_only_a_document_that_does_not_name_its_patient_needs_one():
    assert not needs_patient(_message())                         # a text: ordinary MIME
    assert not needs_patient(_message("text/xml"))               # a CDA names its patient
    assert needs_patient(_message("application/pdf"))
    assert needs_patient(_message("text/xml", "application/pdf"))


def test_a_patient_without_ins_gets_the_same_local_id_from_one_sender_another_from_another():
    patient = patient_identity("FICTIF", "Zoé", "1965-04-12")
    mine = named_locally(patient, Sender("dr.a@op.mssante.test"))
    assert mine.local_id is not None and not mine.local_id.is_ins
    assert named_locally(patient, Sender("dr.a@op.mssante.test")).local_id == mine.local_id
    assert named_locally(patient, Sender("dr.b@op.mssante.test")).local_id.root != mine.local_id.root
    other = named_locally(patient_identity("FICTIF", "Zoé", "1965-04-13"), Sender("dr.a@op.mssante.test"))
    assert other.local_id.extension != mine.local_id.extension
    with_ins = patient_identity("FICTIF", "Zoé", "1965-04-12", "265040000123407")
    assert named_locally(with_ins, Sender("dr.a@op.mssante.test")) is with_ins


def test_a_cda_attached_without_charset_goes_into_the_package_byte_for_byte():
    """A CDA attached as text/xml with no charset (what `pli send message` and compose attach): its UTF-8 bytes
    are the document.  Before, they were decoded as ASCII and each other byte replaced: 'Zoé' became 'Zo��'
    in the package, its subject and its hash."""
    from pathlib import Path

    from pli.core.mail.mssante_send import documents_of

    cda = (Path(__file__).resolve().parents[2] / "fixtures" / "mssante" / "cr-bio-fictif.xml").read_bytes()
    msg = EmailMessage()
    msg.set_content("texte")
    msg.add_attachment(cda, maintype="text", subtype="xml", filename="CR-BIO.xml")
    [document] = documents_of(_reparsed(msg), None)
    assert document.data == cda and document.patient.given == "Zoé"


def _reparsed(msg: EmailMessage):
    import email
    import email.policy

    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)


def _home_listing(tmp_path, address: str):
    from crypto_fixtures import make_keyring
    from pli.core.directory.mssante_index import import_extract
    from test_directory_mssante import row
    from test_mssante_index import extract_file

    keyring = make_keyring(tmp_path, "dr-a", 1)
    import_extract(extract_file(tmp_path, [row(**{"Type de BAL": "PER", "Adresse BAL": address,
                                                  "Nom d'exercice": "EXEMPLE", "Prénom d'exercice": "Jeanne"})]),
                   keyring.home.mssante_index)
    return keyring


def test_compose_plan_says_mssante_and_why_and_that_no_account_can_send_it(tmp_path):
    from pli.core.mail.correspondents import statuses

    keyring = _home_listing(tmp_path, "jeanne.exemple@op.mssante.test")
    mss, unknown = statuses(keyring, ["jeanne.exemple@op.mssante.test", "nobody@op.mssante.test"])
    assert mss.mssante and mss.name == "Jeanne EXEMPLE"
    assert mss.route == "MSSanté (transport-secured): not in the pli directory, listed in the MSSanté extract"
    assert mss.account_problem.startswith("no MSSanté account: mark one account `mssante = true`")
    assert unknown.mode is None and unknown.problem.startswith("unknown address")


def test_a_damaged_mssante_index_is_named_in_the_plan_and_completion_goes_on_without_it(tmp_path):
    from pli.core.mail.correspondents import candidates, complete_address, statuses

    keyring = _home_listing(tmp_path, "jeanne.exemple@op.mssante.test")
    assert [c.source for c in candidates(keyring, "exemple")] == ["MSSanté"]
    assert complete_address(keyring, "jeanne.ex") == ["jeanne.exemple@op.mssante.test"]
    keyring.home.mssante_index.write_bytes(b"not a database")
    [status] = statuses(keyring, ["jeanne.exemple@op.mssante.test"])
    assert status.mode is None and status.problem.startswith("unknown address")
    assert "is damaged: import the extract again" in status.problem
    assert candidates(keyring, "exemple") == [] and complete_address(keyring, "jeanne.ex") == []
