"""A received MSSanté mail, read for the store and the screen: its tier, X-MSS-* headers, XDM documents and lab results.

    mail = read_received(raw_bytes)          # never raises: what cannot be read is a one-line problem
    mail.tier                                # "mssante" (transport-secured), or "pli" (a sealed envelope inside)
    mail.headers.ins, mail.headers.cda_codes # X-MSS-INS "O"/"N", X-MSS-CODECDA codes
    for document in mail.documents:          # each XDM document: title, type, patient, authors, text
        document.title, document.type_code, document.patient, document.authors, document.text
    mail.reports                             # lab Reports (CR-BIO in the package, HPRIM/HL7 v2 parts)
    mail.tags, mail.properties               # what the store gives it (the tag rules of core/store/tagging.py)
    mail.problems                            # one line each: a refused package, an unreadable CDA or lab file

MSSanté mail is transport-secured only (TLS between client, operator and
operators): nothing signs its content for pli to check.  It is therefore
stored as its own tier, tagged `mssante` and `unsealed`, never `verified`;
a pli envelope that travels through an MSSanté account is not read here
(tier "pli"): the usual import opens and verifies it.

A package or a document that cannot be read never loses the message: the
mail is kept as received, its attachment with it, and the reason is one line
in `problems` (tag `xdm-refused` for a package refused as unsafe or
incomplete, `lab-unreadable` when the unreadable part was a lab report, as
for HPRIM and HL7 v2 files).  Lab results from a CDA CR-BIO become the same
Report as HPRIM and HL7 v2 ones, so `lab`, `abnormal`, `critical` and
`patient:<key>` come from the same rules.
"""
from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
from dataclasses import dataclass, field, replace
from email.message import Message

from pli.core import vocab as v
from pli.core.crypto.mime import is_sealed
from pli.core.errors import PliError
from pli.core.lab.cda import LAB_REPORT, MalformedCda, read_cda
from pli.core.lab.cda_results import lab_report
from pli.core.lab.detect import reports_in_mail
from pli.core.lab.model import Report
from pli.core.receipts.mdn import MdnRequest, is_report, mdn_request
from pli.core.store.tagging import LabFacts, lab_facts, properties_for, tags_for
from pli.core.xdm.package import ATTACHMENT_NAME, XdmDocument, XdmRefused, read_package

TIER = v.MSSANTE                     # the tag and the pli.mode property of this tier
SEALED_TIER = "pli"                  # a pli envelope: the usual import opens and verifies it
BADGE = "transport-secured, not end-to-end signed"
XDM_REFUSED = v.XDM_REFUSED
MSS_PREFIX = "x-mss-"
CDA_TYPES = ("text/xml", "application/xml", "application/hl7-cda+xml")


@dataclass(frozen=True)
class MssHeaders:
    """The X-MSS-* headers (Référentiel socle MSSanté #2, ECO.2.4): INS qualified or not, CDA codes, the rest."""

    ins: str = ""                              # "O" qualified INS, "N" not, "" not said
    cda_codes: tuple[str, ...] = ()            # X-MSS-CODECDA, one per document type
    all: tuple[tuple[str, str], ...] = ()      # every X-MSS-* header as received (name, value), for display

    @property
    def ins_qualified(self) -> bool | None:
        return {"O": True, "N": False}.get(self.ins.upper())


@dataclass(frozen=True)
class ReceivedDocument:
    """One document of the XDM package, as the message view lists it."""

    title: str
    type_code: str                             # LOINC document type (11502-2 for a CR-BIO)
    type_display: str
    mime_type: str
    patient: str                               # "INS-NIR 2650400..." or "local id ..." ("" when none)
    patient_name: str                          # "FICTIF Zoé" from sourcePatientInfo
    authors: tuple[str, ...]                   # "Jeanne EXEMPLE (RPPS 10000000123)"
    path: str                                  # member name in the zip
    data: bytes = field(default=b"", repr=False)
    text: str = field(default="", repr=False)  # a CDA's narrative as text ("" for a PDF or an unreadable CDA)
    is_cda: bool = False
    problem: str = ""                          # why the document could not be read ("" when it was)


@dataclass(frozen=True)
class ReceivedMss:
    tier: str                                  # TIER or SEALED_TIER
    headers: MssHeaders = MssHeaders()
    subject: str = ""
    message_id: str = ""
    sender: str = ""
    documents: tuple[ReceivedDocument, ...] = ()
    reports: tuple[Report, ...] = field(default=(), repr=False)
    problems: tuple[str, ...] = ()
    lab: LabFacts = LabFacts()
    tags: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    mdn: MdnRequest | None = None              # the RFC 8098 MDN the sender asks for, if any
    is_report: bool = False                    # an MDN or DSN: read it with receipts/mss_receipts.py

    @property
    def badge(self) -> str:
        return BADGE if self.tier == TIER else ""

    @property
    def text(self) -> str:
        """Every document's narrative, titled, for the message view."""
        return "\n\n".join(f"== {d.title or d.path} ==\n{d.text}" for d in self.documents if d.text)


def read_received(raw: bytes) -> ReceivedMss:
    """Read a mail fetched from an MSSanté account; problems are collected, never raised."""
    if is_sealed(raw):
        return ReceivedMss(tier=SEALED_TIER)
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    headers = mss_headers(message)
    documents: list[ReceivedDocument] = []
    reports: list[Report] = []
    problems: list[str] = []
    refused = False
    for zip_bytes in xdm_attachments(message):
        try:
            package = read_package(zip_bytes)
        except XdmRefused as error:
            problems.append(error.message)
            refused = True
            continue
        for document in package.documents:
            received, found = _document(document)
            documents.append(received)
            reports += found
            if received.problem:
                problems.append(received.problem)
    lab_problem = _mail_reports(message, reports, problems)
    lab_problem = lab_problem or _lab_unread(headers, documents, refused)
    return _stored(message, headers, documents, reports, problems, lab_problem, refused)


def mss_headers(message: Message) -> MssHeaders:
    found = [(name, _header_text(value)) for name, value in message.items()
             if name.lower().startswith(MSS_PREFIX)]
    ins = next((v.strip() for n, v in found if n.lower() == "x-mss-ins"), "")
    codes = tuple(dict.fromkeys(v.strip() for n, v in found if n.lower() == "x-mss-codecda" and v.strip()))
    return MssHeaders(ins=ins, cda_codes=codes, all=tuple(found))


def xdm_attachments(message: Message) -> list[bytes]:
    """The bytes of every IHE_XDM.ZIP attachment (by its name, as IHE ITI TF-1 §16 names it)."""
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        name = _filename(part)
        if name and name.strip().upper() == ATTACHMENT_NAME:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found.append(payload)
    return found


def _document(document: XdmDocument) -> tuple[ReceivedDocument, list[Report]]:
    entry = document.entry
    kind = entry.type_code
    patient = entry.patient
    base = ReceivedDocument(
        title=entry.title, type_code=kind.code if kind else "", type_display=str(kind) if kind else "",
        mime_type=entry.mime_type, patient=str(patient) if patient else "", patient_name=entry.patient_name,
        authors=tuple(_author(a) for a in entry.authors), path=document.path, data=document.data)
    if entry.mime_type.lower() not in CDA_TYPES:
        return base, []
    try:
        cda = read_cda(document.data)
        found = [lab_report(cda)] if cda.is_lab_report else []
    except MalformedCda as error:
        return replace(base, is_cda=True, problem=f"{base.path}: {error.message}"), []
    return replace(base, is_cda=True, text=cda.text(), type_code=base.type_code or cda.code), found


def _mail_reports(message: Message, reports: list[Report], problems: list[str]) -> str:
    """HPRIM and HL7 v2 reports in the mail's own parts (labs send those over MSSanté too)."""
    try:
        reports += reports_in_mail(message)
    except PliError as error:          # MalformedReport: a lab file that does not parse is seen, not skipped
        problems.append(error.message)
        return error.message
    return ""


def _lab_unread(headers: MssHeaders, documents: list[ReceivedDocument], refused: bool) -> str:
    """A lab report was sent (its CDA code says so) but could not be read: the message is tagged lab-unreadable."""
    for document in documents:
        if document.problem and document.type_code == LAB_REPORT:
            return document.problem
    if refused and LAB_REPORT in headers.cda_codes:
        return "the lab report's IHE XDM package was refused"
    return ""


def _stored(message: Message, headers: MssHeaders, documents: list[ReceivedDocument], reports: list[Report],
            problems: list[str], lab_problem: str, refused: bool) -> ReceivedMss:
    facts = lab_facts(reports)
    if lab_problem:
        facts = replace(facts, error=lab_problem)
    # tags_for gives `verified` to what is neither quarantined nor refused: MSSanté mail passes a reason so
    # it never does (the tier is not a signature), and the reason is kept as the message's mode.
    tags = set(tags_for(sealed=False, reason=TIER, quarantined=False, lab=facts)) | {TIER}
    if refused:
        tags.add(XDM_REFUSED)
    return ReceivedMss(
        tier=TIER, headers=headers, subject=_header_text(message.get("Subject", "")),
        message_id=str(message.get("Message-ID", "")).strip(), sender=_header_text(message.get("From", "")),
        documents=tuple(documents), reports=tuple(reports), problems=tuple(problems), lab=facts,
        tags=tuple(sorted(tags)), properties=properties_for(mode=TIER, reason="", lab=facts),
        mdn=mdn_request(message), is_report=is_report(message))


def _author(author) -> str:
    return f"{author.name} (RPPS {author.rpps})" if author.rpps else author.name


def _filename(part: Message) -> str | None:
    name = part.get_filename()
    return _header_text(name) if isinstance(name, str) else None


def _header_text(value) -> str:
    """A header as text on one line (RFC 2047 words decoded; a damaged one is kept as written)."""
    text = str(value)
    if "=?" in text:
        try:
            text = str(email.header.make_header(email.header.decode_header(text)))
        except (email.errors.HeaderParseError, LookupError, UnicodeDecodeError, ValueError):
            pass
    return " ".join(text.split())
