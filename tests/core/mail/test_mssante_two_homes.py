"""Issue 16 end to end: two pli homes, a lab's and a practitioner's, on one MSSanté operator (a real Dovecot: IMAP,
LMTP and submission over TLS from a test CA, token logins; tests/core/dovecot_fixtures.py), everything through the
`pli` command as the practitioner would type it.

1. The lab's pli sends its CR-BIO (tests/fixtures/mssante/cr-bio-fictif.xml, written after the CI-SIS CR-BIO
   examples, README there) to the practitioner's MSSanté address: an IHE XDM package built by pli.  The operator
   relays it; the test delivers it over LMTP into the practitioner's mailbox, as the recipient's operator does.
2. `pli fetch` in the practitioner's home stores it in the MSSanté tier with its lab flags (the store's tags and
   properties; the list row and the badge in a Pilot run), and answers the MDN the lab asked for: an RFC 8098 MDN
   naming the original Message-ID arrives in the lab's mailbox on the Dovecot.
3. The practitioner sends a PDF to the lab's MSSanté address (`pli send message --patient`): the mail read back
   from the lab's mailbox carries an IHE XDM package whose METADATA.XML, document and headers are checked.
4. What must fail does, through the CLI: one line, a non-zero exit, nothing lost.
5. Sealed pli mail between the two homes leaves through the MSSanté account (`pli send` / `pli send flush` log
   in the MSSanté way) and opens at the lab; a wrong CA or a bad token keeps it in the outbox until fixed.
"""
from __future__ import annotations

import email
import email.policy
import io
import re
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from dovecot_fixtures import OperatorDovecot, deliver, make_jwt, relayed_to, token_account, token_helper
from pki_fixtures import TestCa
from mssante_fixtures import DOMAIN, mss_home, operator, pli  # noqa: F401 - operator is a fixture
from pli.core import vocab as v
from pli.core.crypto.pairing import introduce
from pli.core.directory.mssante_index import import_extract
from pli.core.home import Home
from pli.core.safe_xml import parse_xml
from pli.core.store import Store
from pli.core.transport import outbox
from pli.core.transport.mssante_account import Credentials, open_imap
from pli.core.xdm import read_package
from test_directory_mssante import row
from test_mssante_index import extract_file
from test_xdm import PDF
from test_received import _bomb, _no_metadata, _traversal, lab_mail
from transport_fixtures import free_port

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mssante"
CR_BIO = (FIXTURES / "cr-bio-fictif.xml").read_bytes()
LAB = f"secretariat@{DOMAIN}"
DOCTOR = f"dr.martin@{DOMAIN}"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"


@dataclass
class Homes:
    root: Path
    lab: Home
    practitioner: Home
    cr_id: str                        # the Message-ID of the lab's mail
    fetched: object                   # the practitioner's `pli fetch`


def listing(root: Path, mailbox: str, address: str, kind: str, **names) -> Path:
    """An MSSanté extract (invented rows under the ANS header) listing one mailbox."""
    folder = root / f"extract-{mailbox}"
    folder.mkdir()
    return extract_file(folder, [row(**{"Type de BAL": kind, "Adresse BAL": address, **names})])


def message(root: Path, name: str, subject: str, text: str, attachment: tuple[bytes, str, str] | None) -> Path:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg.set_content(text)
    if attachment is not None:
        data, mime, filename = attachment
        msg.add_attachment(data, maintype=mime.split("/")[0], subtype=mime.split("/")[1], filename=filename)
    path = root / name
    path.write_bytes(msg.as_bytes())
    return path


def sent_id(done) -> str:
    found = re.search(r"^sent (<[^>]+>) to ", done.stdout.decode(), re.M)
    assert found, done.stderr
    return found.group(1)


def mailbox_of(operator, root: Path, user: str) -> list[bytes]:
    """Every mail in `user`'s INBOX on the operator, read over IMAP with the user's token."""
    imap = open_imap(token_account(operator, root / f"reader-{user}", user, operator.test_ca), Credentials())
    try:
        imap.select("INBOX", readonly=True)
        _, found = imap.uid("SEARCH", "ALL")
        return [imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")[1][0][1] for uid in found[0].split()]
    finally:
        imap.logout()


def stored(home: Home, query: str):
    with Store.open(home) as store:
        return store.window(query, 0, 50)


@pytest.fixture(scope="module")
def homes(operator, tmp_path_factory) -> Homes:
    root = tmp_path_factory.mktemp("two-homes")
    lab, _ = mss_home(root, operator, "secretariat")
    practitioner, _ = mss_home(root, operator, "dr.martin")
    import_extract(listing(root, "lab", DOCTOR, "PER", **{"Nom d'exercice": "MARTIN", "Prénom d'exercice": "Jeanne"}),
                   lab.mssante_index)
    import_extract(listing(root, "practitioner", LAB, "ORG", **{"Raison Sociale structure BAL": "LABO FICTIF"}),
                   practitioner.mssante_index)
    report = message(root, "cr.eml", "Compte rendu", "Bonjour,\nle compte rendu de Mme FICTIF.\n",
                     (CR_BIO, "text/xml", "CR-BIO.xml"))
    done = pli(root, lab, "send", "message", "--to", DOCTOR, str(report))
    assert done.returncode == 0, done.stderr
    cr_id = sent_id(done)
    _, recipients, relayed = relayed_to(operator, cr_id.encode())
    assert recipients == [DOCTOR]
    deliver(operator, LAB, "dr.martin", relayed)                 # the practitioner's operator delivers it
    fetched = pli(root, practitioner, "fetch")
    return Homes(root, lab, practitioner, cr_id, fetched)


def test_the_labs_cr_bio_arrives_through_pli_fetch_in_the_mssante_tier_with_its_lab_flags(homes):
    assert homes.fetched.returncode == 0, homes.fetched.stderr
    [mail] = stored(homes.practitioner, "tag:mssante")
    assert mail.subject == "XDM/1.0/DDM+Compte rendu d'examens biologiques FICTIF Zoé 12/04/1965"
    assert {v.MSSANTE, v.UNSEALED, v.INBOX, v.LAB, v.ABNORMAL, v.CRITICAL}.issubset(mail.tags)
    assert any(t.startswith(v.PATIENT_PREFIX) for t in mail.tags)
    assert not {v.VERIFIED, v.SEALED, v.QUARANTINE} & mail.tags and not mail.verified
    assert mail.mode == "mssante" and mail.lab_summary
    with Store.open(homes.practitioner) as store:
        assert store.property_values(mail.message_id, v.ACCOUNT_PROPERTY) == ["mss"]
        assert store.property_values(mail.message_id, "pli.mode") == ["mssante"]
    assert stored(homes.practitioner, "tag:quarantine") == []


@pytest.mark.asyncio
async def test_the_practitioner_sees_the_row_with_its_tier_mark_and_lab_flags_and_the_tier_badge(homes,
                                                                                                 monkeypatch):
    # start-up: the TUI is imported only by this test of the module
    from pli.tui.app import PliApp
    from pli.tui.screens.message import MessageScreen
    from pli.tui.widgets.message_list import SEVERITY_MARK, MessageList
    from pli.tui.widgets.verification_badge import VerificationBadge

    monkeypatch.setenv("PLI_PASSPHRASE_FILE", str(homes.root / "passphrase"))
    app = PliApp(homes.practitioner)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = app.screen.query_one(MessageList)
        assert rows.total == 1
        summary = rows.current
        row_text = next(rows.render_line(y).text for y in range(3) if "◆" in rows.render_line(y).text)
        assert row_text[1:3] == f"{SEVERITY_MARK['critical']}◆" and "✓" not in row_text    # the flags, the tier
        assert summary.lab_summary and summary.lab_summary[:20] in row_text
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        badge = app.screen.query_one(VerificationBadge)
        assert "transport-secured, not end-to-end signed" in str(badge.render())
        assert badge.has_class("-tier") and not badge.has_class("-verified")


def test_the_mdn_the_lab_asked_for_arrives_in_the_labs_mailbox_naming_the_original(homes, operator):
    assert re.search(rb"1 MDN sent", homes.fetched.stdout), homes.fetched.stderr
    [mail] = stored(homes.practitioner, "tag:mssante")
    assert v.MDN_SENT in mail.tags and v.MDN_DUE not in mail.tags
    relayed = [m for m in operator.sink.messages if homes.cr_id.encode() in m[2] and m[1] == [LAB]]
    assert len(relayed) == 1
    deliver(operator, DOCTOR, "secretariat", relayed[0][2])       # the lab's operator delivers it
    [report] = [r for r in mailbox_of(operator, homes.root, "secretariat")
                if b"disposition-notification" in r and homes.cr_id.encode() in r]
    mdn = email.message_from_bytes(report, policy=email.policy.default)
    assert mdn.get_content_type() == "multipart/report"
    assert mdn.get_param("report-type") == "disposition-notification"
    [machine] = [p for p in mdn.walk() if p.get_content_type() == "message/disposition-notification"]
    fields = email.message_from_bytes(machine.get_payload(0).as_bytes() if machine.is_multipart()
                                      else machine.get_payload(decode=True))
    assert fields["Original-Message-ID"] == homes.cr_id
    assert fields["Final-Recipient"].endswith(DOCTOR)
    assert re.fullmatch(r"automatic-action/MDN-sent-automatically; ?processed", fields["Disposition"])
    assert mdn["To"] == LAB and mdn["From"].endswith(DOCTOR)
    again = pli(homes.root, homes.practitioner, "fetch")                      # answered once, never twice
    assert again.returncode == 0 and b"MDN" not in again.stdout + again.stderr


def test_the_practitioner_sends_a_pdf_to_the_lab_as_an_xdm_package(homes, operator):
    letter = message(homes.root, "letter.eml", "Courrier", "Bonjour, le courrier de Mme FICTIF.",
                     (PDF, "application/pdf", "Courrier.pdf"))
    done = pli(homes.root, homes.practitioner, "send", "message", "--to", LAB, "--patient",
               "FICTIF, Zoé, 1965-04-12", "--ins", "265040000123407", str(letter))
    assert done.returncode == 0, done.stderr
    assert f"  {LAB}: MSSanté (transport-secured)" in done.stderr.decode()
    letter_id = sent_id(done)
    _, recipients, relayed = relayed_to(operator, letter_id.encode())
    assert recipients == [LAB]
    deliver(operator, DOCTOR, "secretariat", relayed)
    [received] = [r for r in mailbox_of(operator, homes.root, "secretariat") if letter_id.encode() in r
                  and b"IHE_XDM.ZIP" in r]
    mail = email.message_from_bytes(received, policy=email.policy.default)
    assert mail["Subject"] == "XDM/1.0/DDM+Courrier FICTIF Zoé 12/04/1965"
    assert mail["From"].addresses[0].addr_spec == DOCTOR and mail["To"] == LAB
    assert mail["Disposition-Notification-To"] == DOCTOR
    assert mail["X-MSS-CODECDA"] is None                      # a PDF: no CDA code (ECO.2.4.1 is for CDA)
    names = [p.get_filename() for p in mail.iter_attachments()]
    assert names == ["Courrier_FICTIF.pdf", "IHE_XDM.ZIP"]     # the ANS sequence: PDF + IHE_XDM.ZIP
    [package] = [p.get_content() for p in mail.iter_attachments() if p.get_filename() == "IHE_XDM.ZIP"]
    read = read_package(package)
    [document] = read.documents
    assert document.data == PDF and document.entry.mime_type == "application/pdf"
    assert document.entry.title == "Courrier" and document.entry.patient.extension == "265040000123407"
    with zipfile.ZipFile(io.BytesIO(package)) as opened:
        assert {"README.TXT", "INDEX.HTM", "IHE_XDM/SUBSET01/METADATA.XML",
                "IHE_XDM/SUBSET01/DOC0001.PDF"} <= set(opened.namelist())
        metadata = parse_xml(opened.read("IHE_XDM/SUBSET01/METADATA.XML"), "METADATA.XML", 10_000_000)
    slots = {s.get("name"): [x.text for x in s.iter(f"{{{RIM}}}Value")] for s in metadata.iter(f"{{{RIM}}}Slot")}
    assert slots["intendedRecipient"] == [f"|^^Internet^{LAB}"]
    assert "265040000123407^^^&1.2.250.1.213.1.4.8&ISO^NH" in slots["sourcePatientId"]
    assert any(value.startswith("PID-5|FICTIF^Zoé") for value in slots["sourcePatientInfo"])
    assert "PID-7|19650412" in slots["sourcePatientInfo"]
    assert slots["size"] == [str(len(PDF))]


# -- 4. what must fail, through the CLI: one line, a non-zero exit, nothing lost ---------------------------------

def hostile(kind: str) -> bytes:
    """The lab's CR-BIO mail with a package pli must refuse (test_xdm_received's hostile packages)."""
    package = {"bomb": _bomb, "traversal": _traversal, "no-metadata": _no_metadata}[kind]()
    raw = lab_mail(package).replace(b"labo@labo.mssante.test", LAB.encode())
    return raw.replace(b"<cr-0042@", f"<cr-{kind}@".encode())


def test_malformed_packages_fetched_are_kept_named_and_answered_with_an_error_mdn(operator, tmp_path):
    """A zip bomb, a member escaping the package, a package without METADATA.XML: each mail is stored as received
    (nothing lost, tags xdm-refused and lab-unreadable, never quarantined), named in one line of `pli fetch`'s
    summary, and the lab is told by an MDN `processed/error` (the ANS's 906).  The exit status is 65, as for any
    lab mail stored but not read wholly (docs/CLI.md): nothing is lost, and a script learns someone must look."""
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    for kind in ("bomb", "traversal", "no-metadata"):
        deliver(operator, LAB, "dr.martin", hostile(kind))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 65, done.stderr
    assert b"pli: 3 messages stored with a lab report pli could not read wholly" in done.stderr
    said = done.stdout.decode()
    assert " 0 quarantined" in said and "Traceback" not in said + done.stderr.decode()
    refused_lines = [line for line in said.splitlines()
                     if line.startswith("  lab report in an IHE XDM package pli refused (unsafe or incomplete")]
    assert len(refused_lines) == 3, said                  # each named as refused, not as a report misread
    refused = {kind: [m for m in stored(home, "tag:xdm-refused")
                      if f"<cr-{kind}@".encode() in Path(m.path).read_bytes()]
               for kind in ("bomb", "traversal", "no-metadata")}
    assert all(len(found) == 1 for found in refused.values()), refused
    assert all({v.MSSANTE, v.LAB_UNREADABLE, v.INBOX} <= m.tags for [m] in refused.values())
    assert stored(home, "tag:quarantine") == []
    for kind in ("bomb", "traversal", "no-metadata"):
        _, recipients, mdn = relayed_to(operator, f"<cr-{kind}@".encode())
        assert recipients == [LAB] and b"processed/error" in mdn and b"906" in mdn


@pytest.fixture(scope="module")
def expired_operator(operator):
    """A second operator serving a certificate of the right CA that expired yesterday."""
    with OperatorDovecot(operator.test_ca.server("expired", hosts=("localhost",), expired=True),
                         oauth_key=operator.oauth_key) as server:
        server.test_ca = operator.test_ca
        yield server


def one_line(done) -> str:
    err = done.stderr.decode()
    lines = err.strip().splitlines()
    assert done.returncode != 0 and "Traceback" not in err, err
    return lines[-1]


def knowing_the_lab(home: Home, root: Path) -> None:
    import_extract(listing(root, f"{home.root.name}-{len(list(root.iterdir()))}", LAB, "ORG"), home.mssante_index)


def test_an_expired_server_certificate_is_one_line_for_fetch_and_send_and_nothing_moves(expired_operator,
                                                                                        tmp_path):
    home, _ = mss_home(tmp_path, expired_operator, "dr.martin")
    knowing_the_lab(home, tmp_path)
    deliver(expired_operator, LAB, "dr.martin", hostile("bomb").replace(b"<cr-bomb@", b"<cr-kept@"))
    fetched = one_line(pli(tmp_path, home, "fetch"))
    assert "expired" in fetched and "localhost" in fetched
    assert stored(home, "*") == [] and not list((home.root / "incoming" / "new").iterdir())
    letter = message(tmp_path, "l.eml", "Courrier", "texte expired-cert", (PDF, "application/pdf", "C.pdf"))
    sent = one_line(pli(tmp_path, home, "send", "message", "--to", LAB, "--patient", "FICTIF, Zoé, 1965-04-12",
                        str(letter)))
    assert "expired" in sent
    assert not any(b"expired-cert" in m[2] for m in expired_operator.sink.messages)
    assert letter.read_bytes().count(b"expired-cert") == 1                 # the message file is untouched
    assert outbox_empty(home)


def test_a_bad_token_is_one_line_for_fetch_and_send_and_the_mail_waits_on_the_server(operator, tmp_path):
    token = make_jwt(b"another identity provider's key", "dr.martin")
    wrong = token_helper(tmp_path / "wrong", token)
    home, _ = mss_home(tmp_path, operator, "dr.martin", token_command=[str(wrong)])
    knowing_the_lab(home, tmp_path)
    deliver(operator, LAB, "dr.martin", hostile("traversal").replace(b"<cr-traversal@", b"<cr-waits@"))
    fetched = one_line(pli(tmp_path, home, "fetch"))
    assert "access token is not valid" in fetched and token.split(".")[1] not in fetched   # never quoted
    assert stored(home, "*") == []
    letter = message(tmp_path, "l.eml", "Question", "texte bad-token", None)
    sent = one_line(pli(tmp_path, home, "send", "message", "--to", LAB, str(letter)))
    assert "access token is not valid" in sent and token.split(".")[1] not in sent
    assert not any(b"bad-token" in m[2] for m in operator.sink.messages)
    assert any(b"<cr-waits@" in r for r in mailbox_of(operator, tmp_path, "dr.martin"))   # still on the server


def test_a_wrong_ca_is_one_line_for_send_and_nothing_is_submitted(operator, tmp_path):
    """(`pli fetch` with a wrong CA: test_mssante_wire.py::test_a_wrong_ca_through_pli_fetch_...)"""
    other = TestCa(tmp_path / "other-ca", "other CA")
    home, _ = mss_home(tmp_path, operator, "dr.martin", ca_file=str(other.cert_path))
    knowing_the_lab(home, tmp_path)
    letter = message(tmp_path, "l.eml", "Question", "texte wrong-ca", None)
    sent = one_line(pli(tmp_path, home, "send", "message", "--to", LAB, str(letter)))
    assert "localhost" in sent and ("CA" in sent or "trust" in sent)
    assert not any(b"wrong-ca" in m[2] for m in operator.sink.messages)


def sealing_homes(operator, root: Path, **doctor_keys) -> tuple[Home, Home, str]:
    """(practitioner, lab, the lab's pli address): two homes on the operator whose keyrings know each other, so
    what the practitioner sends the lab is sealed and queued in the outbox, then flushed through the MSSanté
    account (the practitioner's only one); `doctor_keys` change the practitioner's account."""
    practitioner, doctor = mss_home(root, operator, "dr.martin", **doctor_keys)
    lab, lab_keys = mss_home(root, operator, "secretariat")
    introduce(doctor, lab_keys)
    return practitioner, lab, lab_keys.identity.public.address


def left_sealed(operator, home: Home) -> bytes:
    """The sealed mail the outbox submitted (kept in outbox/cur), as the operator relayed it."""
    [kept] = (outbox.outbox_dir(home) / "cur").iterdir()
    marker = email.message_from_bytes(kept.read_bytes())["Message-ID"].encode()
    _, _, relayed = relayed_to(operator, marker)
    return relayed


def test_sealed_mail_leaves_through_the_mssante_account_and_opens_at_the_lab(operator, tmp_path):
    practitioner, lab, to = sealing_homes(operator, tmp_path)
    letter = message(tmp_path, "k.eml", "Kaliémie sealed-mss", "texte scellé sealed-mss", None)
    sent = pli(tmp_path, practitioner, "send", "message", "--to", to, str(letter))
    assert sent.returncode == 0, sent.stderr
    assert outbox_empty(practitioner)
    [(mail_from, recipients, relayed)] = [m for m in operator.sink.messages if m[2] == left_sealed(operator,
                                                                                                   practitioner)]
    assert mail_from == DOCTOR and recipients == [to]                   # the MSSanté account's envelope
    assert b"sealed-mss" not in relayed                                  # sealed: neither subject nor text in clear
    deliver(operator, DOCTOR, "secretariat", relayed)                   # the lab's operator delivers it
    fetched = pli(tmp_path, lab, "fetch")
    assert fetched.returncode == 0, fetched.stderr
    [row] = stored(lab, "subject:sealed-mss")
    assert row.verified and v.MSSANTE not in row.tags and row.subject == "Kaliémie sealed-mss"
    assert "texte scellé sealed-mss" in Path(row.path).read_text()      # opened: the clear copy the lab reads


def test_a_password_login_flushes_too_and_a_wrong_password_keeps_the_mail(operator, tmp_path):
    secret = tmp_path / "smtp.pass"
    secret.write_text("not the password\n")
    secret.chmod(0o600)
    practitioner, _, to = sealing_homes(operator, tmp_path, auth="password", token_command=None,
                                        password_file=str(secret))
    letter = message(tmp_path, "p.eml", "Question", "texte flush-password", None)
    refused = pli(tmp_path, practitioner, "send", "message", "--to", to, str(letter))
    assert refused.returncode == 75
    said = one_line(refused)
    assert "refused the password of dr.martin" in said and "not the password" not in said + refused.stdout.decode()
    assert [q.recipients for q in outbox.pending(practitioner)] == [(to,)]
    secret.write_text(OperatorDovecot.USERS["dr.martin"] + "\n")
    fixed = pli(tmp_path, practitioner, "send", "flush")
    assert fixed.returncode == 0, fixed.stderr
    assert outbox_empty(practitioner) and left_sealed(operator, practitioner)


def test_an_unreachable_operator_keeps_the_sealed_mail_queued_for_the_next_flush(operator, tmp_path):
    practitioner, _, to = sealing_homes(operator, tmp_path, smtp_port=free_port())    # nothing listens there
    letter = message(tmp_path, "u.eml", "Question", "texte flush-unreachable", None)
    sent = pli(tmp_path, practitioner, "send", "message", "--to", to, str(letter))
    assert sent.returncode == 75
    said = one_line(sent)
    assert "refused the connection" in said and "kept in the outbox" in said
    [waiting] = outbox.pending(practitioner)
    assert waiting.recipients == (to,) and not waiting.permanent


def test_a_flush_with_a_wrong_ca_keeps_the_sealed_mail_queued_until_the_ca_is_fixed(operator, tmp_path):
    other = TestCa(tmp_path / "other-ca", "other CA")
    bundle = tmp_path / "operator-ca.pem"
    bundle.write_bytes(other.cert_path.read_bytes())                    # the wrong CA where the operator's goes
    practitioner, _, to = sealing_homes(operator, tmp_path, ca_file=str(bundle))
    letter = message(tmp_path, "q.eml", "Question", "texte flush-wrong-ca", None)
    sent = pli(tmp_path, practitioner, "send", "message", "--to", to, str(letter))
    assert sent.returncode == 75
    said = one_line(sent)
    assert "kept in the outbox" in said and "localhost" in said and ("CA" in said or "trust" in said)
    again = pli(tmp_path, practitioner, "send", "flush")
    assert again.returncode == 75 and "kept in the outbox" in one_line(again)
    [waiting] = outbox.pending(practitioner)
    assert waiting.recipients == (to,) and waiting.attempts == 2 and not waiting.permanent   # not refused for good
    bundle.write_bytes(operator.test_ca.cert_path.read_bytes())         # the right CA bundle
    fixed = pli(tmp_path, practitioner, "send", "flush")
    assert fixed.returncode == 0, fixed.stderr
    assert outbox_empty(practitioner) and left_sealed(operator, practitioner)


def test_a_flush_with_a_bad_token_keeps_the_sealed_mail_queued_until_the_token_is_good(operator, tmp_path):
    token = make_jwt(b"another identity provider's key", "dr.martin")
    helper = token_helper(tmp_path / "helper", token)
    practitioner, _, to = sealing_homes(operator, tmp_path, token_command=[str(helper)])
    letter = message(tmp_path, "q.eml", "Question", "texte flush-bad-token", None)
    queued = pli(tmp_path, practitioner, "send", "message", "--queue-only", "--to", to, str(letter))
    assert queued.returncode == 0, queued.stderr
    flushed = pli(tmp_path, practitioner, "send", "flush")
    assert flushed.returncode == 75
    said = one_line(flushed)
    assert "kept in the outbox" in said and "access token is not valid" in said and token.split(".")[1] not in said
    assert token.split(".")[1] not in flushed.stdout.decode()          # nor in the report
    [waiting] = outbox.pending(practitioner)
    assert waiting.recipients == (to,) and not waiting.permanent
    token_helper(tmp_path / "helper", make_jwt(operator.oauth_key, "dr.martin", lifetime=3600))
    fixed = pli(tmp_path, practitioner, "send", "flush")
    assert fixed.returncode == 0, fixed.stderr
    assert outbox_empty(practitioner) and left_sealed(operator, practitioner)


def outbox_empty(home: Home) -> bool:
    return outbox.pending(home) == []
