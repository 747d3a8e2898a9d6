"""The outgoing mail to an MSSanté address: documents in an IHE XDM package, or plain text as ordinary MIME.

    mail = document_mail([file_document(pdf, "application/pdf", "Courrier", LETTER, patient)], sender,
                         ["dr.b@hopital.mssante.fr"], body="Bonjour, ...", receipt=True)
    mail["Subject"]       # "XDM/1.0/DDM+Courrier DUPONT Marie 12/04/1965"
    mail.as_bytes()       # text/plain body, a readable copy of each PDF, IHE_XDM.ZIP
    mail = text_mail("dr.a@op.mssante.fr", ["dr.b@hopital.mssante.fr"], "Question", "Bonjour, ...")

How the ANS says a document travels by MSSanté (volet "Transmission LPS de
documents CDA par courriel MSSanté", and its sequence "constitution du
courriel (PDF + IHE_XDM.ZIP)"): a text body for the person who reads it, the
document in a form they can open (the PDF itself), and the IHE_XDM.ZIP that
a receiving system files into the patient record (core/xdm/compose.py: the
metadata, the subject `XDM/1.0/DDM+<title> <NAME> <first name> <birth date>`,
X-MSS-CODECDA and X-MSS-INS).  One patient per message: documents about two
patients are refused before anything is built.  `receipt` asks for an RFC
8098 MDN (Disposition-Notification-To: the sender), as MSSanté systems
answer with "processed" or "processed/error".  Line ends are LF, as for every
message pli builds; SMTP submission makes them CRLF.
"""
from __future__ import annotations

import email.utils
import re
import unicodedata
from datetime import datetime, timezone
from email.message import EmailMessage
from email.policy import default

from pli.core.xdm.compose import OutgoingDocument, OutgoingPackage, Sender, build_package
from pli.core.xdm.package import ATTACHMENT_NAME, MEDIA_TYPE

READABLE_COPIES = ("application/pdf",)       # what a person opens as it is; CDA and HPRIM stay in the package
_SUFFIX = {"application/pdf": ".pdf"}


def document_mail(documents: list[OutgoingDocument], sender: Sender, recipients: list[str], *, body: str = "",
                  receipt: bool = False, now: datetime | None = None) -> EmailMessage:
    """The mail carrying `documents` (one patient) in an IHE XDM package; XdmRefused if they cannot be sent so."""
    package = build_package(documents, sender, recipients, now=now)
    mail = _headed(sender.address, _display_name(sender), recipients, package.subject, receipt, now)
    for name, value in package.headers:
        mail[name] = value
    mail.set_content(body or _default_body(package), subtype="plain", charset="utf-8")
    for document in documents:
        if document.mime_type in READABLE_COPIES:
            maintype, subtype = document.mime_type.split("/")
            mail.add_attachment(document.data, maintype=maintype, subtype=subtype,
                                filename=readable_name(document))
    mail.add_attachment(package.zip_bytes, maintype=MEDIA_TYPE.split("/")[0], subtype=MEDIA_TYPE.split("/")[1],
                        filename=ATTACHMENT_NAME)
    return mail


def text_mail(sender: str, recipients: list[str], subject: str, body: str, *, receipt: bool = False,
              now: datetime | None = None) -> EmailMessage:
    """A plain-text mail to MSSanté addresses: ordinary MIME, nothing packaged."""
    mail = _headed(sender, "", recipients, " ".join(subject.split()), receipt, now)
    mail.set_content(body, subtype="plain", charset="utf-8")
    return mail


def readable_name(document: OutgoingDocument) -> str:
    """'Compte rendu' about DUPONT -> 'Compte_rendu_DUPONT.pdf': ASCII, no path, as mail clients save it."""
    words = f"{document.title} {document.patient.family.upper()}"
    ascii_words = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "_", ascii_words).strip("_")[:80] or "document"
    return stem + _SUFFIX.get(document.mime_type, "")


def _headed(address: str, name: str, recipients: list[str], subject: str, receipt: bool,
            now: datetime | None) -> EmailMessage:
    mail = EmailMessage(policy=default)
    mail["From"] = email.utils.formataddr((name, address)) if name else address
    mail["To"] = ", ".join(recipients)
    mail["Subject"] = subject
    mail["Date"] = email.utils.format_datetime(now or datetime.now(timezone.utc))
    mail["Message-ID"] = email.utils.make_msgid(domain=address.rpartition("@")[2] or None)
    if receipt:
        mail["Disposition-Notification-To"] = address
    return mail


def _display_name(sender: Sender) -> str:
    return " ".join(p for p in (sender.given, sender.family.upper()) if p) or sender.institution


def _default_body(package: OutgoingPackage) -> str:
    titles = ", ".join(entry.title for entry in package.entries if entry.title)
    return (f"Documents joints : {titles}.\n"
            f"Le fichier {ATTACHMENT_NAME} contient ces documents et leurs métadonnées (IHE XDM) pour le dossier "
            "du patient.\n")
