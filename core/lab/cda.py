"""CDA R2 documents (HL7 Clinical Document Architecture, the French CI-SIS profiles): header, patient, author, narrative.

    document = read_cda(data)                  # CdaDocument; MalformedCda for anything pli cannot read
    document.title, document.code              # "Compte rendu d'examens biologiques", "11502-2"
    document.patient.ins                       # PatientId(kind="INS-NIR", qualified=True) or None
    document.text()                            # every section: title, then its narrative as text
    document.is_lab_report                     # LOINC 11502-2: lab_reports(document) gives its results

The header follows the CI-SIS "Structuration minimale des documents de
santé": the patient's identifiers are in recordTarget/patientRole/id; an id
whose root is the INS-NIR or INS-NIA OID (1.2.250.1.213.1.4.8 / .9) is the
qualified national health identifier (the CI-SIS puts the INS there only once
the identity is qualified); the test OIDs (.10 / .11) mark the test INS of
the ANS's test platforms; any other id is a local identifier (IPP).  The
document is parsed with no DTD and no entity (pli.core.safe_xml).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from xml.etree.ElementTree import Element

from pli.core.errors import PliError
from pli.core.lab.cda_narrative import NarrativeTooDeep, content_by_id, narrative_text
from pli.core.safe_xml import XmlRefused, ns_tag, parse_xml

HL7 = "urn:hl7-org:v3"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
LOINC = "2.16.840.1.113883.6.1"
LAB_REPORT = "11502-2"               # LOINC "Laboratory report": the CI-SIS CR-BIO document code
MAX_BYTES = 64 * 1024 * 1024         # a CR-BIO with its PDF copy and images is a few MB
INS_OIDS = {
    "1.2.250.1.213.1.4.8": ("INS-NIR", True),
    "1.2.250.1.213.1.4.9": ("INS-NIA", True),
    "1.2.250.1.213.1.4.10": ("INS-NIR-TEST", False),
    "1.2.250.1.213.1.4.11": ("INS-NIA-TEST", False),
}
RPPS_ROOT = "1.2.250.1.71.4.2.1"     # national professional identifiers (8 + RPPS, 0 + ADELI...)


class MalformedCda(PliError):
    """A CDA document pli cannot read; the message names the problem, never the document's content."""

    def __init__(self, reason: str):
        super().__init__(f"malformed CDA document: {reason}; ask the sender to resend it (the original is kept)")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PatientId:
    root: str
    extension: str

    @property
    def kind(self) -> str:
        """'INS-NIR', 'INS-NIA', 'INS-NIR-TEST', 'INS-NIA-TEST', or '' for a local identifier."""
        return INS_OIDS.get(self.root, ("", False))[0]

    @property
    def is_ins(self) -> bool:
        return self.root in INS_OIDS

    @property
    def qualified(self) -> bool:
        """A qualified INS of the national referential (not a test one, not a local id)."""
        return INS_OIDS.get(self.root, ("", False))[1]

    def __str__(self) -> str:
        label = self.kind or "local id"
        return f"{label} {self.extension}" if self.extension else label


@dataclass(frozen=True, slots=True)
class CdaPatient:
    ids: tuple[PatientId, ...] = ()
    family: str = ""             # birth name (qualifier BR) when given, else the first family name
    used_family: str = ""        # name used (qualifier CL/SP) when it differs
    given: str = ""              # first given name of the birth certificate (BR), else the first given
    given_names: str = ""        # every given name of the birth certificate
    birth_date: date | None = None
    sex: str = ""                # administrativeGenderCode: F, M, U
    address1: str = ""
    postcode: str = ""
    town: str = ""

    @property
    def ins(self) -> PatientId | None:
        """The INS if the document carries one (qualified first, then a test INS)."""
        found = [i for i in self.ids if i.is_ins]
        return next((i for i in found if i.qualified), found[0] if found else None)

    @property
    def local_ids(self) -> tuple[PatientId, ...]:
        return tuple(i for i in self.ids if not i.is_ins)


@dataclass(frozen=True, slots=True)
class CdaAuthor:
    id_root: str = ""
    id_extension: str = ""
    family: str = ""
    given: str = ""
    prefix: str = ""
    role: str = ""               # the profession/specialty displayName ("Médecin - Biologie médicale")
    role_code: str = ""
    organisation: str = ""
    organisation_id: str = ""

    @property
    def rpps(self) -> str:
        """The 11-digit RPPS number when the author is identified by one (extension '8' + RPPS)."""
        ext = self.id_extension
        if self.id_root == RPPS_ROOT and len(ext) == 12 and ext.startswith("8") and ext.isdigit():
            return ext[1:]
        return ""

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.given, self.family.upper()) if p) or self.organisation or "?"


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    text: str                    # the narrative as plain text
    code: str = ""
    depth: int = 1               # 1 for a top-level section, 2 for a sub-section...


@dataclass(frozen=True)
class CdaDocument:
    id_root: str
    id_extension: str
    code: str                    # LOINC document type (11502-2 for a lab report)
    code_display: str
    title: str
    effective_time: datetime | None
    patient: CdaPatient
    author: CdaAuthor
    sections: tuple[Section, ...] = ()
    template_ids: tuple[str, ...] = ()
    confidentiality: str = ""
    language: str = ""
    root: Element | None = field(default=None, repr=False, compare=False)
    narrative_ids: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def unique_id(self) -> str:
        """The XDS uniqueId form: root, or root^extension."""
        return f"{self.id_root}^{self.id_extension}" if self.id_extension else self.id_root

    @property
    def is_lab_report(self) -> bool:
        return self.code == LAB_REPORT

    def text(self) -> str:
        """The whole narrative: each section's title (indented by depth) then its text."""
        parts = []
        for section in self.sections:
            head = ("#" * section.depth + " " + section.title) if section.title else ""
            parts.append("\n".join(p for p in (head, section.text) if p))
        return "\n\n".join(p for p in parts if p)


def read_cda(data: bytes, max_bytes: int = MAX_BYTES) -> CdaDocument:
    """Parse a CDA R2 document; MalformedCda for anything pli will not or cannot read."""
    try:
        root = parse_xml(data, "CDA document", max_bytes)
    except XmlRefused as error:
        raise MalformedCda(error.reason) from None
    if ns_tag(root) != (HL7, "ClinicalDocument"):
        raise MalformedCda("the root element is not a ClinicalDocument in the urn:hl7-org:v3 namespace")
    try:
        return _document(root)
    except NarrativeTooDeep:
        raise MalformedCda("its narrative is nested too deeply") from None


def _document(root: Element) -> CdaDocument:
    ident, code = root.find(hl7_path("id")), root.find(hl7_path("code"))
    if ident is None or not ident.get("root"):
        raise MalformedCda("the document has no id")
    if code is None or not code.get("code"):
        raise MalformedCda("the document has no type code")
    return CdaDocument(
        id_root=ident.get("root", ""), id_extension=ident.get("extension", ""),
        code=code.get("code", ""), code_display=code.get("displayName", ""),
        title=text_of(root.find(hl7_path("title"))), effective_time=hl7_time(_attr(root, "effectiveTime", "value")),
        patient=_patient(root), author=_author(root.find(hl7_path("author/assignedAuthor"))),
        sections=tuple(_sections(root.find(hl7_path("component/structuredBody")), 1)),
        template_ids=tuple(t.get("root", "") for t in root.findall(hl7_path("templateId"))),
        confidentiality=_attr(root, "confidentialityCode", "code"), language=_attr(root, "languageCode", "code"),
        root=root, narrative_ids=content_by_id(root))


def _patient(root: Element) -> CdaPatient:
    role = root.find(hl7_path("recordTarget/patientRole"))
    if role is None:
        raise MalformedCda("the document names no patient (recordTarget/patientRole)")
    person = role.find(hl7_path("patient"))
    name = person.find(hl7_path("name")) if person is not None else None
    families = _named(name, "family")
    givens = _named(name, "given")
    birth_family = families.get("BR") or families.get("") or next(iter(families.values()), "")
    used_family = families.get("CL") or families.get("SP") or ""
    address = role.find(hl7_path("addr"))
    return CdaPatient(
        ids=tuple(PatientId(i.get("root", ""), i.get("extension", "")) for i in role.findall(hl7_path("id"))
                  if i.get("root")),
        family=birth_family, used_family=used_family if used_family != birth_family else "",
        given=givens.get("BR") or givens.get("") or next(iter(givens.values()), ""),
        given_names=givens.get("") or givens.get("BR", ""),
        birth_date=_date(_attr(person, "birthTime", "value")) if person is not None else None,
        sex=_attr(person, "administrativeGenderCode", "code") if person is not None else "",
        address1=_street(address), postcode=text_of(address.find(hl7_path("postalCode"))) if address is not None else "",
        town=text_of(address.find(hl7_path("city"))) if address is not None else "")


def _named(name: Element | None, part: str) -> dict[str, str]:
    """{qualifier: text} of the name parts (the first of each qualifier; '' for none)."""
    found: dict[str, str] = {}
    if name is not None:
        for element in name.findall(hl7_path(part)):
            found.setdefault(element.get("qualifier", ""), text_of(element))
    return found


def _author(assigned: Element | None) -> CdaAuthor:
    if assigned is None:
        return CdaAuthor()
    ident, code = assigned.find(hl7_path("id")), assigned.find(hl7_path("code"))
    person = assigned.find(hl7_path("assignedPerson/name"))
    org = assigned.find(hl7_path("representedOrganization"))
    return CdaAuthor(
        id_root=ident.get("root", "") if ident is not None else "",
        id_extension=ident.get("extension", "") if ident is not None else "",
        family=text_of(person.find(hl7_path("family"))) if person is not None else "",
        given=text_of(person.find(hl7_path("given"))) if person is not None else "",
        prefix=text_of(person.find(hl7_path("prefix"))) if person is not None else "",
        role=code.get("displayName", "") if code is not None else "",
        role_code=code.get("code", "") if code is not None else "",
        organisation=text_of(org.find(hl7_path("name"))) if org is not None else "",
        organisation_id=_attr(org, "id", "extension") if org is not None else "")


def _sections(parent: Element | None, depth: int) -> list[Section]:
    if parent is None or depth > 16:
        return []
    found = []
    for section in parent.findall(hl7_path("component/section")):
        code = section.find(hl7_path("code"))
        found.append(Section(text_of(section.find(hl7_path("title"))), narrative_text(section.find(hl7_path("text"))),
                             code.get("code", "") if code is not None else "", depth))
        found.extend(_sections(section, depth + 1))
    return found


def hl7_time(value: str) -> datetime | None:
    """An HL7 TS ('20210401171000+0100', '202101040735', '20210401') as a datetime; None if unreadable.

    Times without an offset stay naive (local to the sender, as in HPRIM)."""
    value = (value or "").strip()
    digits, offset = value, ""
    for sign in "+-":
        if sign in value[8:]:
            head, _, tail = value.rpartition(sign)
            digits, offset = head, sign + tail
            break
    digits = digits.split(".")[0]
    formats = {14: "%Y%m%d%H%M%S", 12: "%Y%m%d%H%M", 10: "%Y%m%d%H", 8: "%Y%m%d"}
    try:
        moment = datetime.strptime(digits, formats[len(digits)])
    except (KeyError, ValueError):
        return None
    if len(offset) == 5 and offset[1:].isdigit():
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        moment = moment.replace(tzinfo=timezone(timedelta(minutes=minutes if offset[0] == "+" else -minutes)))
    return moment


def _date(value: str) -> date | None:
    moment = hl7_time(value[:8]) if value else None
    return moment.date() if moment else None


def _street(address: Element | None) -> str:
    if address is None:
        return ""
    lines = [text_of(a) for a in address.findall(hl7_path("streetAddressLine"))]
    if not lines:
        lines = [" ".join(p for p in (text_of(address.find(hl7_path("houseNumber"))),
                                      text_of(address.find(hl7_path("streetName")))) if p)]
    return ", ".join(line for line in lines if line)


def _attr(parent: Element | None, child: str, attribute: str) -> str:
    element = parent.find(hl7_path(child)) if parent is not None else None
    return element.get(attribute, "") if element is not None else ""


def text_of(element: Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def hl7_path(path: str) -> str:
    """'recordTarget/patientRole' -> '{urn:hl7-org:v3}recordTarget/{urn:hl7-org:v3}patientRole'."""
    return "/".join(f"{{{HL7}}}{part}" for part in path.split("/"))
