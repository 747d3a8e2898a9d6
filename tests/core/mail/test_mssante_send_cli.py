"""`pli send message` to an MSSanté recipient (issue 16, last steps, 3): a recipient pli cannot seal to but the
imported MSSanté directory lists gets the message's PDF as an IHE XDM package, submitted through the MSSanté
account to the real test operator (Dovecot), and the plan says "MSSanté (transport-secured)"."""
from __future__ import annotations

import email
import io
import zipfile
import email.policy
from email.message import EmailMessage

from dovecot_fixtures import relayed_to
from mssante_fixtures import DOMAIN, mss_home, operator, pli  # noqa: F401 - operator is a fixture
from pli.core.directory.mssante_index import import_extract
from pli.core.xdm import read_package
from test_directory_mssante import row
from test_mssante_index import extract_file
from test_xdm import PDF

LAB = f"secretariat@{DOMAIN}"


def home_knowing_the_lab(tmp_path, operator):
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    lab = row(**{"Type de BAL": "ORG", "Adresse BAL": LAB, "Raison Sociale structure BAL": "LABO FICTIF"})
    import_extract(extract_file(tmp_path, [lab]), home.mssante_index)
    return home


def message_with_pdf(tmp_path, marker: str):
    msg = EmailMessage()
    msg["Subject"] = f"Courrier {marker}"
    msg.set_content(f"Veuillez trouver le courrier ({marker}).")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="Courrier.pdf")
    path = tmp_path / f"{marker}.eml"
    path.write_bytes(msg.as_bytes())
    return path


def test_a_pdf_to_an_address_of_the_mssante_directory_goes_as_an_xdm_package_through_the_account(operator,
                                                                                                  tmp_path):
    home = home_knowing_the_lab(tmp_path, operator)
    done = pli(tmp_path, home, "send", "message", "--to", LAB, "--patient", "FICTIF, Zoé, 1965-04-12",
               "--ins", "265040000123407", str(message_with_pdf(tmp_path, "cli-send")))
    assert done.returncode == 0, done.stderr
    said = done.stderr.decode()
    assert (f"  {LAB}: MSSanté (transport-secured) (not in the pli directory, listed in the MSSanté extract)"
            in said.splitlines())
    _, recipients, relayed = relayed_to(operator, b"cli-send")
    assert recipients == [LAB]
    mail = email.message_from_bytes(relayed, policy=email.policy.default)
    assert mail["Subject"] == "XDM/1.0/DDM+Courrier FICTIF Zoé 12/04/1965"
    assert mail["From"].addresses[0].addr_spec == f"dr.martin@{DOMAIN}"
    assert mail["Disposition-Notification-To"] == f"dr.martin@{DOMAIN}"
    [package] = [p for p in mail.iter_attachments() if p.get_filename() == "IHE_XDM.ZIP"]
    [document] = read_package(package.get_content()).documents
    assert document.data == PDF and document.entry.mime_type == "application/pdf"
    assert document.entry.patient.extension == "265040000123407" and document.entry.title == "Courrier"
    assert [a.rpps for a in document.entry.authors] == ["10000000011"]     # the keyring's RPPS
    assert done.stdout.decode() == f"sent {mail['Message-ID']} to {LAB} (MSSanté, transport-secured)\n"   # the report


def test_a_pdf_without_its_patient_is_one_line_exit_2_and_nothing_is_submitted(operator, tmp_path):
    home = home_knowing_the_lab(tmp_path, operator)
    before = len(operator.sink.messages)
    done = pli(tmp_path, home, "send", "message", "--to", LAB, str(message_with_pdf(tmp_path, "no-patient")))
    lines = done.stderr.decode().strip().splitlines()
    assert done.returncode == 2
    assert lines[-1].startswith("pli: ") and "needs the patient it is about: give --patient" in lines[-1]
    assert "Traceback" not in done.stderr.decode() and len(operator.sink.messages) == before


def test_an_address_in_neither_directory_is_still_refused_exit_7(operator, tmp_path):
    home = home_knowing_the_lab(tmp_path, operator)
    done = pli(tmp_path, home, "send", "message", "--to", f"nobody@{DOMAIN}", "--patient",
               "FICTIF, Zoé, 1965-04-12", str(message_with_pdf(tmp_path, "nobody")))
    assert done.returncode == 7 and b"no key for nobody@" in done.stderr


def test_with_an_unknown_recipient_beside_nothing_is_sent_to_the_mssante_one_either(operator, tmp_path):
    home = home_knowing_the_lab(tmp_path, operator)
    before = len(operator.sink.messages)
    done = pli(tmp_path, home, "send", "message", "--to", f"{LAB},nobody@{DOMAIN}", "--patient",
               "FICTIF, Zoé, 1965-04-12", "--ins", "265040000123407", str(message_with_pdf(tmp_path, "mixed")))
    assert done.returncode == 7 and b"no key for nobody@" in done.stderr
    assert b"sent " not in done.stderr and len(operator.sink.messages) == before


def test_a_patient_without_ins_is_named_by_the_senders_local_id(operator, tmp_path):
    """--patient without --ins (the INS is optional): the package names the patient by a local id (`^PI`) under
    the sender's own OID.  Before, the package could not be built ("neither an INS nor a local identifier")."""
    home = home_knowing_the_lab(tmp_path, operator)
    done = pli(tmp_path, home, "send", "message", "--to", LAB, "--patient", "FICTIF, Zoé, 1965-04-12",
               str(message_with_pdf(tmp_path, "no-ins")))
    assert done.returncode == 0, done.stderr
    _, _, relayed = relayed_to(operator, b"no-ins")
    mail = email.message_from_bytes(relayed, policy=email.policy.default)
    [package] = [p for p in mail.iter_attachments() if p.get_filename() == "IHE_XDM.ZIP"]
    [document] = read_package(package.get_content()).documents
    assert not document.entry.patient.is_ins and document.entry.patient.extension
    assert document.entry.patient.root.startswith("2.25.")
    with zipfile.ZipFile(io.BytesIO(package.get_content())) as opened:
        metadata = opened.read("IHE_XDM/SUBSET01/METADATA.XML").decode("utf-8")
    assert f"{document.entry.patient.extension}^^^&amp;{document.entry.patient.root}&amp;ISO^PI" in metadata
    again = pli(tmp_path, home, "send", "message", "--to", LAB, "--patient", "FICTIF, Zoé, 1965-04-12",
                str(message_with_pdf(tmp_path, "no-ins-again")))
    assert again.returncode == 0, again.stderr
    _, _, second = relayed_to(operator, b"no-ins-again")
    [package2] = [p for p in email.message_from_bytes(second, policy=email.policy.default).iter_attachments()
                  if p.get_filename() == "IHE_XDM.ZIP"]
    assert read_package(package2.get_content()).documents[0].entry.patient == document.entry.patient


def test_a_text_without_attachment_goes_as_ordinary_mime_through_the_account(operator, tmp_path):
    home = home_knowing_the_lab(tmp_path, operator)
    msg = EmailMessage()
    msg["Subject"] = "Question text-only"
    msg.set_content("Bonjour, une question sans document (text-only).")
    path = tmp_path / "text.eml"
    path.write_bytes(msg.as_bytes())
    done = pli(tmp_path, home, "send", "message", "--to", LAB, str(path))
    assert done.returncode == 0, done.stderr
    _, recipients, relayed = relayed_to(operator, b"text-only")
    mail = email.message_from_bytes(relayed, policy=email.policy.default)
    assert recipients == [LAB] and mail["Subject"] == "Question text-only"
    assert mail.get_content_type() == "text/plain" and "sans document" in mail.get_content()
    assert mail["From"] == f"dr.martin@{DOMAIN}" and "X-MSS-CODECDA" not in mail
