"""An XDM package for sending to an MSSanté address: metadata, subject and headers as the MSSanté clients write them.

    sender = Sender(rpps="10001234567", family="MARTIN", given="Jeanne", address="jeanne.martin@op.mssante.fr",
                    specialty=Code("G15_10/SM26", "1.2.250.1.213.1.1.4.5", "Médecin - Qualifié en médecine générale"))
    documents = [cda_document(cda_bytes), file_document(pdf, "application/pdf", "Courrier", LETTER, patient)]
    outgoing = build_package(documents, sender, ["dr.b@hopital.mssante.fr"])
    outgoing.zip_bytes          # the IHE_XDM.ZIP attachment
    outgoing.subject            # "XDM/1.0/DDM+Compte rendu d'examens biologiques FICTIF Zoé 12/04/1965"
    outgoing.headers            # [("X-MSS-CODECDA", "11502-2"), ("X-MSS-INS", "O")]

Rules from the ANS: one patient per message (a package mixing patients is
refused before anything is built); the subject is the IHE XDM e-mail subject
"XDM/1.0/DDM" followed by the document's title, the patient's birth name,
first name and birth date (ANS, volet "Transmission LPS de documents CDA
par courriel MSSanté", struct-msg-mdn: `XDM/1.0/DDM+<libellé> <NOM> <prénom>
<date de naissance>`); a message whose package holds CDA documents carries
X-MSS-CODECDA, the CDA document code, one header per distinct code
(Référentiel socle MSSanté #2, ECO.2.4.1), and X-MSS-INS, "O" when the
patient's INS is a qualified one and "N" otherwise (ECO.2.4.2, as the ANS
DevBox connector sends it).  The patient id in the metadata is the INS when
known (`^NH`), else the sender's local id (`^PI`).
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from pli.core.lab.cda import RPPS_ROOT, CdaDocument, PatientId, read_cda
from pli.core.xdm.metadata import Author, Code, DocumentEntry, SubmissionSet, patient_cx
from pli.core.xdm.package import XdmRefused, write_package

SUBJECT_PREFIX = "XDM/1.0/DDM+"
FORMAT_SCHEME = "1.3.6.1.4.1.19376.1.2.3"           # IHE format codes
XD_LAB = Code("urn:ihe:lab:xd-lab:2008", FORMAT_SCHEME, "CR-BIO (IHE XD-LAB)")
MIME_SUFFICIENT = Code("urn:ihe:iti:xds:2017:mimeTypeSufficient", FORMAT_SCHEME, "mimeType Sufficient")
REPORT_CLASS = Code("10", "1.2.250.1.213.1.1.4.1", "Compte rendu")        # TRE_A03-ClasseDocument
NORMAL = Code("N", "2.16.840.1.113883.5.25", "Normal")
XD_LAB_TEMPLATE = "1.3.6.1.4.1.19376.1.3.3"
_EXTENSIONS = {"text/xml": "XML", "application/pdf": "PDF", "text/plain": "TXT", "image/jpeg": "JPG",
               "image/png": "PNG", "text/x-hprim": "HPR", "application/hl7-v2": "HL7"}


@dataclass(frozen=True)
class PatientIdentity:
    """The patient as the package names them: the INS when known, else a local id, and the identity traits."""

    family: str
    given: str
    birth_date: date | None
    sex: str = ""
    ins: PatientId | None = None
    local_id: PatientId | None = None

    @property
    def identifier(self) -> PatientId:
        chosen = self.ins or self.local_id
        if chosen is None or not chosen.extension:
            raise XdmRefused("the patient has neither an INS nor a local identifier: the package cannot name them")
        return chosen

    def source_info(self) -> tuple[str, ...]:
        info = [f"PID-3|{patient_cx(self.identifier)}", f"PID-5|{self.family.upper()}^{self.given}^^^^^L"]
        if self.birth_date:
            info.append(f"PID-7|{self.birth_date:%Y%m%d}")
        if self.sex:
            info.append(f"PID-8|{self.sex}")
        return tuple(info)


@dataclass(frozen=True)
class Sender:
    """The author of what is sent: a professional identified by RPPS (or an organisation for an application box)."""

    address: str
    rpps: str = ""
    family: str = ""
    given: str = ""
    specialty: Code | None = None
    role: Code | None = None
    institution: str = ""
    institution_id: str = ""             # as the ANS writes it: "1" + FINESS, "3" + SIRET...
    facility_type: Code = Code("SA07", "1.2.250.1.71.4.2.4", "Cabinet individuel")
    practice_setting: Code = Code("AMBULATOIRE", "1.2.250.1.213.1.1.4.9", "Ambulatoire")
    source_oid: str = ""                 # the sending system's OID; a stable one is derived from the address

    def author(self) -> Author:
        person = ""
        if self.rpps:
            person = f"8{self.rpps}^{self.family.upper()}^{self.given}^^^^^^&{RPPS_ROOT}&ISO^D^^^IDNPS"
        institution = (f"{self.institution}^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^{self.institution_id}"
                       if self.institution else "")
        return Author(person, (institution,) if institution else (),
                      (_hl7_code(self.role),) if self.role else (),
                      (_hl7_code(self.specialty),) if self.specialty else ())


@dataclass(frozen=True)
class OutgoingDocument:
    data: bytes = field(repr=False)
    mime_type: str
    title: str
    type_code: Code
    patient: PatientIdentity
    created: datetime
    class_code: Code = REPORT_CLASS
    format_code: Code = MIME_SUFFICIENT
    confidentiality: Code = NORMAL
    unique_id: str = ""                  # a CDA's own id; generated otherwise
    language: str = "fr-FR"
    is_cda: bool = False
    qualified_ins: bool = False


@dataclass(frozen=True)
class OutgoingPackage:
    zip_bytes: bytes = field(repr=False)
    subject: str
    headers: tuple[tuple[str, str], ...]
    submission: SubmissionSet
    entries: tuple[DocumentEntry, ...]


def cda_document(data: bytes) -> OutgoingDocument:
    """A CDA document's metadata, from its own header (title, code, patient, INS, creation time, id)."""
    cda = read_cda(data)
    return OutgoingDocument(
        data=data, mime_type="text/xml", title=cda.title or cda.code_display, is_cda=True,
        type_code=Code(cda.code, "2.16.840.1.113883.6.1", cda.code_display or cda.title),
        patient=_patient_of(cda), created=cda.effective_time or datetime.now(timezone.utc),
        format_code=XD_LAB if XD_LAB_TEMPLATE in cda.template_ids else MIME_SUFFICIENT,
        confidentiality=Code(cda.confidentiality or "N", "2.16.840.1.113883.5.25", ""),
        unique_id=cda.unique_id, qualified_ins=cda.patient.ins is not None and cda.patient.ins.qualified)


def file_document(data: bytes, mime_type: str, title: str, type_code: Code, patient: PatientIdentity,
                  created: datetime | None = None) -> OutgoingDocument:
    """A document that is not CDA (a PDF letter, an HPRIM file): the sender gives its type and patient."""
    return OutgoingDocument(data=data, mime_type=mime_type, title=title, type_code=type_code, patient=patient,
                            created=created or datetime.now(timezone.utc),
                            qualified_ins=patient.ins is not None and patient.ins.qualified)


def build_package(documents: list[OutgoingDocument], sender: Sender, recipients: list[str],
                  now: datetime | None = None) -> OutgoingPackage:
    """The package, its subject and its headers; XdmRefused if the documents are not about one patient."""
    if not documents:
        raise XdmRefused("there is no document to package")
    patient = _one_patient(documents)
    now = now or datetime.now(timezone.utc)
    entries = [_entry(number, document, sender) for number, document in enumerate(documents, 1)]
    submission = SubmissionSet(
        entry_id="urn:uuid:" + str(uuid.uuid4()), unique_id=_new_oid(),
        source_id=sender.source_oid or _stable_oid(sender.address), submission_time=_dtm(now),
        title=documents[0].title, patient_id=patient_cx(patient.identifier), content_type=documents[0].type_code,
        authors=(sender.author(),), intended_recipients=tuple(f"|^^Internet^{address}" for address in recipients))
    zip_bytes = write_package(submission, [(e, d.data) for e, d in zip(entries, documents)], _readme(sender, now))
    return OutgoingPackage(zip_bytes, subject_for(documents[0].title, patient), _headers(documents), submission,
                           tuple(entries))


def subject_for(title: str, patient: PatientIdentity) -> str:
    """'XDM/1.0/DDM+<title> <BIRTH NAME> <first name> <dd/mm/yyyy>' (ANS)."""
    born = f"{patient.birth_date:%d/%m/%Y}" if patient.birth_date else ""
    words = [title.strip(), patient.family.upper(), patient.given, born]
    return SUBJECT_PREFIX + " ".join(" ".join(w.split()) for w in words if w and w.strip())


def _one_patient(documents: list[OutgoingDocument]) -> PatientIdentity:
    first = documents[0].patient
    for document in documents[1:]:
        if document.patient.identifier != first.identifier:
            raise XdmRefused("the documents are about different patients: MSSanté sends one patient per message, "
                             "send them separately")
    return first


def _entry(number: int, document: OutgoingDocument, sender: Sender) -> DocumentEntry:
    extension = _EXTENSIONS.get(document.mime_type, "BIN")
    patient = document.patient
    return DocumentEntry(
        entry_id="urn:uuid:" + str(uuid.uuid4()), unique_id=document.unique_id or _new_oid(),
        mime_type=document.mime_type, uri=f"DOC{number:04d}.{extension}", title=document.title,
        hash=hashlib.sha1(document.data).hexdigest(), size=len(document.data),
        patient_id=patient_cx(patient.identifier), source_patient_id=patient_cx(patient.identifier),
        source_patient_info=patient.source_info(), authors=(sender.author(),),
        codes={"classCode": document.class_code, "typeCode": document.type_code,
               "formatCode": document.format_code, "confidentialityCode": document.confidentiality,
               "healthcareFacilityTypeCode": sender.facility_type, "practiceSettingCode": sender.practice_setting},
        creation_time=_dtm(document.created), language=document.language)


def _headers(documents: list[OutgoingDocument]) -> tuple[tuple[str, str], ...]:
    cda = [d for d in documents if d.is_cda]
    if not cda:
        return ()
    codes = list(dict.fromkeys(d.type_code.code for d in cda))
    qualified = all(d.qualified_ins for d in cda)
    return tuple(("X-MSS-CODECDA", code) for code in codes) + (("X-MSS-INS", "O" if qualified else "N"),)


def _patient_of(cda: CdaDocument) -> PatientIdentity:
    patient = cda.patient
    local = patient.local_ids
    return PatientIdentity(family=patient.family, given=patient.given, birth_date=patient.birth_date,
                           sex=patient.sex, ins=patient.ins, local_id=local[0] if local else None)


def named_locally(patient: PatientIdentity, sender: Sender) -> PatientIdentity:
    """A patient the sender knows no INS for, named by the sender's own local identifier (`^PI`): under the
    sending system's OID, a digest of the identity traits, so that the same patient gets the same id from one
    sender.  A patient with an INS or a local id is returned as is."""
    if patient.ins is not None or patient.local_id is not None:
        return patient
    traits = f"{patient.family.upper()}|{patient.given}|{patient.birth_date or ''}|{patient.sex}"
    local = PatientId(sender.source_oid or _stable_oid(sender.address),
                      hashlib.sha256(traits.encode("utf-8")).hexdigest()[:20].upper())
    return PatientIdentity(patient.family, patient.given, patient.birth_date, patient.sex, local_id=local)


def _readme(sender: Sender, now: datetime) -> str:
    """README.TXT (ITI TF-1 §16.1.1): who made the package, with what, and when."""
    who = " ".join(p for p in (sender.given, sender.family.upper()) if p) or sender.institution or sender.address
    return (f"IHE XDM package\nCreated by: {who} <{sender.address}>\nApplication: pli (secure health messaging "
            f"for the terminal)\nCreated on: {now:%Y-%m-%d %H:%M} UTC\nContents: IHE_XDM/SUBSET01 (see INDEX.HTM)\n")


def _hl7_code(code: Code) -> str:
    return f"{code.code}^{code.display}^{code.scheme}"


def _dtm(moment: datetime) -> str:
    """XDS DTM: UTC, YYYYMMDDhhmmss."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def _new_oid() -> str:
    """A fresh OID from a random UUID (ITU-T X.667: 2.25.<the UUID as an integer>)."""
    return f"2.25.{uuid.uuid4().int}"


def _stable_oid(address: str) -> str:
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, 'mailto:' + address.lower()).int}"
