"""XDS metadata as an XDM package carries it: an ebRIM 3.0 SubmitObjectsRequest (IHE ITI TF-3 §4.2, §4.2.5).

    submission, entries = parse_metadata(xml_bytes)      # SubmissionSet, [DocumentEntry...]
    xml_bytes = metadata_xml(submission, entries)        # for a package pli writes

A SubmissionSet is a RegistryPackage classified as such
(urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd); each document is an
ExtrinsicObject (objectType urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1)
joined to it by a HasMember association.  Their attributes are Slots
(creationTime, hash, size, URI, sourcePatientId, sourcePatientInfo,
author...), Classifications (author, classCode, typeCode, formatCode,
confidentialityCode, healthcareFacilityTypeCode, practiceSettingCode,
contentTypeCode) and ExternalIdentifiers (patientId, uniqueId, sourceId),
each recognised by its scheme UUID, never by position or by its Name.

The French conventions (ANS, CI-SIS "Partage de documents de santé", which
MSSanté packages follow): the patient id is the INS as a CX
`<matricule>^^^&1.2.250.1.213.1.4.8&ISO^NH`, a person is an XCN whose id is
'8' + RPPS under 1.2.250.1.71.4.2.1 (`^D^^^IDNPS` types it), classCode from
TRE_A03-ClasseDocument (1.2.250.1.213.1.1.4.1), typeCode a LOINC code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement, register_namespace, tostring

from pli.core.lab.cda import INS_OIDS, RPPS_ROOT, PatientId
from pli.core.safe_xml import ns_tag, parse_xml

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
MAX_BYTES = 8 * 1024 * 1024
DOCUMENT_ENTRY = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SUBMISSION_SET = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
CLASSIFICATION_OBJECT = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
# Scheme UUIDs of ITI TF-3 Table 4.2.5-1 and 4.2.5-2.
DE = {"author": "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d",
      "classCode": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
      "confidentialityCode": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
      "formatCode": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
      "healthcareFacilityTypeCode": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
      "practiceSettingCode": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
      "typeCode": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
      "patientId": "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427",
      "uniqueId": "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"}
SS = {"author": "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d",
      "contentTypeCode": "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500",
      "patientId": "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446",
      "sourceId": "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832",
      "uniqueId": "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"}
# The prefixes other XDM readers expect to see (the ITI examples use rim: and lcm:), not ns0/ns1.
register_namespace("rim", RIM)
register_namespace("lcm", LCM)
_CODES = ("classCode", "typeCode", "formatCode", "confidentialityCode", "healthcareFacilityTypeCode",
          "practiceSettingCode")


class MalformedMetadata(ValueError):
    """METADATA.XML does not hold what an XDM package must (the package module turns it into XdmRefused)."""


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    scheme: str = ""
    display: str = ""

    def __str__(self) -> str:
        return self.display or self.code


@dataclass(frozen=True, slots=True)
class Author:
    """XDS author slots: person (XCN), institutions (XON), role, specialty, as written."""

    person: str = ""
    institutions: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()

    @property
    def rpps(self) -> str:
        """The RPPS number when the person's id is '8' + 11 digits under the national professional OID."""
        ident, authority = _component(self.person, 0), _component(self.person, 8)
        if RPPS_ROOT in authority and len(ident) == 12 and ident.startswith("8") and ident.isdigit():
            return ident[1:]
        return ""

    @property
    def name(self) -> str:
        family, given = _component(self.person, 1), _component(self.person, 2)
        person = " ".join(p for p in (given, family.upper()) if p)
        institution = _component(self.institutions[0], 0) if self.institutions else ""
        return person or institution or "?"


@dataclass(frozen=True)
class DocumentEntry:
    entry_id: str
    unique_id: str
    mime_type: str
    uri: str = ""
    title: str = ""
    hash: str = ""                      # SHA-1, hex (ITI TF-3 §4.2.3.2.11)
    size: int | None = None
    patient_id: str = ""                # CX: 248...^^^&1.2.250.1.213.1.4.8&ISO^NH
    source_patient_id: str = ""
    source_patient_info: tuple[str, ...] = ()     # "PID-5|FICTIF^ZOE^^^^^L", "PID-7|19650412"...
    authors: tuple[Author, ...] = ()
    codes: dict[str, Code] = field(default_factory=dict)   # classCode, typeCode, formatCode...
    creation_time: str = ""
    service_start: str = ""
    service_stop: str = ""
    language: str = ""
    legal_authenticator: str = ""

    @property
    def type_code(self) -> Code | None:
        return self.codes.get("typeCode")

    @property
    def class_code(self) -> Code | None:
        return self.codes.get("classCode")

    @property
    def patient(self) -> PatientId | None:
        return patient_from_cx(self.patient_id)

    @property
    def patient_name(self) -> str:
        """'FICTIF Zoé' from sourcePatientInfo's PID-5, when given."""
        for item in self.source_patient_info:
            if item.startswith("PID-5|"):
                family, given = _component(item[6:], 0), _component(item[6:], 1)
                return " ".join(p for p in (family.upper(), given) if p)
        return ""


@dataclass(frozen=True)
class SubmissionSet:
    entry_id: str
    unique_id: str
    source_id: str = ""
    submission_time: str = ""
    title: str = ""
    patient_id: str = ""
    content_type: Code | None = None
    authors: tuple[Author, ...] = ()
    intended_recipients: tuple[str, ...] = ()


def patient_from_cx(cx: str) -> PatientId | None:
    """'279035121518989^^^&1.2.250.1.213.1.4.8&ISO^NH' -> PatientId(root, extension); None if empty."""
    if not cx:
        return None
    extension = _component(cx, 0)
    authority = _component(cx, 3)      # HD: namespace&universal id&type
    parts = authority.split("&")
    root = parts[1] if len(parts) > 1 else parts[0]
    return PatientId(root, extension)


def patient_cx(patient: PatientId) -> str:
    """The CX the ANS conventions give a patient id: ^NH for an INS, ^PI for a local id."""
    kind = "NH" if patient.root in INS_OIDS else "PI"
    return f"{patient.extension}^^^&{patient.root}&ISO^{kind}"


# -- reading ------------------------------------------------------------------------------------------------

def parse_metadata(data: bytes) -> tuple[SubmissionSet, list[DocumentEntry]]:
    root = parse_xml(data, "METADATA.XML", MAX_BYTES)
    objects = _registry_objects(root)
    packages = [e for e in objects if ns_tag(e)[1] == "RegistryPackage"]
    submission_ids = _submission_set_ids(objects)
    submissions = [p for p in packages if p.get("id") in submission_ids] or packages[:1]
    if len(submissions) != 1:
        raise MalformedMetadata("it holds no submission set" if not submissions else "it holds several "
                                "submission sets")
    documents = [e for e in objects if ns_tag(e)[1] == "ExtrinsicObject"]
    if not documents:
        raise MalformedMetadata("it lists no document")
    return _submission(submissions[0]), [_entry(d) for d in documents]


def _registry_objects(root: Element) -> list[Element]:
    if ns_tag(root) != (LCM, "SubmitObjectsRequest"):
        raise MalformedMetadata("its root is not an ebRIM SubmitObjectsRequest")
    found = root.find(f"{{{RIM}}}RegistryObjectList")
    if found is None:
        raise MalformedMetadata("it has no RegistryObjectList")
    return list(found)


def _submission_set_ids(objects: list[Element]) -> set[str]:
    ids = set()
    for element in objects:
        if ns_tag(element)[1] == "Classification" and element.get("classificationNode") == SUBMISSION_SET:
            ids.add(element.get("classifiedObject", ""))
        for inner in element.findall(f"{{{RIM}}}Classification"):
            if inner.get("classificationNode") == SUBMISSION_SET:
                ids.add(inner.get("classifiedObject", "") or element.get("id", ""))
    return ids


def _entry(element: Element) -> DocumentEntry:
    slots = _slots(element)
    identifiers = _identifiers(element)
    classifications = _classifications(element)
    size = _first(slots, "size")
    return DocumentEntry(
        entry_id=element.get("id", ""), unique_id=identifiers.get(DE["uniqueId"], ""),
        mime_type=element.get("mimeType", ""), uri=_first(slots, "URI"), title=_name(element),
        hash=_first(slots, "hash").lower(), size=int(size) if size.isdigit() else None,
        patient_id=identifiers.get(DE["patientId"], ""), source_patient_id=_first(slots, "sourcePatientId"),
        source_patient_info=tuple(slots.get("sourcePatientInfo", ())),
        authors=tuple(_author(c) for c in classifications.get(DE["author"], ())),
        codes={name: _code(classifications[DE[name]][0]) for name in _CODES if DE[name] in classifications},
        creation_time=_first(slots, "creationTime"), service_start=_first(slots, "serviceStartTime"),
        service_stop=_first(slots, "serviceStopTime"), language=_first(slots, "languageCode"),
        legal_authenticator=_first(slots, "legalAuthenticator"))


def _submission(element: Element) -> SubmissionSet:
    slots = _slots(element)
    identifiers = _identifiers(element)
    classifications = _classifications(element)
    content = classifications.get(SS["contentTypeCode"])
    return SubmissionSet(
        entry_id=element.get("id", ""), unique_id=identifiers.get(SS["uniqueId"], ""),
        source_id=identifiers.get(SS["sourceId"], ""), submission_time=_first(slots, "submissionTime"),
        title=_name(element), patient_id=identifiers.get(SS["patientId"], ""),
        content_type=_code(content[0]) if content else None,
        authors=tuple(_author(c) for c in classifications.get(SS["author"], ())),
        intended_recipients=tuple(slots.get("intendedRecipient", ())))


def _slots(element: Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for slot in element.findall(f"{{{RIM}}}Slot"):
        values = [(v.text or "").strip() for v in slot.iterfind(f"{{{RIM}}}ValueList/{{{RIM}}}Value")]
        found.setdefault(slot.get("name", ""), []).extend(values)
    return found


def _first(slots: dict[str, list[str]], name: str) -> str:
    values = slots.get(name) or [""]
    return values[0]


def _identifiers(element: Element) -> dict[str, str]:
    return {i.get("identificationScheme", ""): i.get("value", "").strip()
            for i in element.findall(f"{{{RIM}}}ExternalIdentifier")}


def _classifications(element: Element) -> dict[str, list[Element]]:
    found: dict[str, list[Element]] = {}
    for classification in element.findall(f"{{{RIM}}}Classification"):
        found.setdefault(classification.get("classificationScheme", ""), []).append(classification)
    return found


def _code(classification: Element) -> Code:
    slots = _slots(classification)
    return Code(classification.get("nodeRepresentation", ""), _first(slots, "codingScheme"), _name(classification))


def _author(classification: Element) -> Author:
    slots = _slots(classification)
    return Author(_first(slots, "authorPerson"), tuple(slots.get("authorInstitution", ())),
                  tuple(slots.get("authorRole", ())), tuple(slots.get("authorSpecialty", ())))


def _name(element: Element) -> str:
    string = element.find(f"{{{RIM}}}Name/{{{RIM}}}LocalizedString")
    return string.get("value", "") if string is not None else ""


def _component(hl7_value: str, index: int) -> str:
    parts = hl7_value.split("^")
    return parts[index] if index < len(parts) else ""


# -- writing ------------------------------------------------------------------------------------------------

def metadata_xml(submission: SubmissionSet, entries: list[DocumentEntry]) -> bytes:
    """The SubmitObjectsRequest for a package pli writes (UTF-8, with its XML declaration)."""
    request = Element(f"{{{LCM}}}SubmitObjectsRequest")
    objects = SubElement(request, f"{{{RIM}}}RegistryObjectList")
    _write_submission(objects, submission)
    for number, entry in enumerate(entries, 1):
        _write_entry(objects, entry)
        association = SubElement(objects, f"{{{RIM}}}Association", id=f"Association{number:02d}",
                                 associationType=HAS_MEMBER, sourceObject=submission.entry_id,
                                 targetObject=entry.entry_id)
        _slot(association, "SubmissionSetStatus", ["Original"])
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(request, encoding="utf-8",
                                                                 xml_declaration=False) + b"\n"


def _write_submission(objects: Element, submission: SubmissionSet) -> None:
    package = SubElement(objects, f"{{{RIM}}}RegistryPackage", id=submission.entry_id)
    _slot(package, "submissionTime", [submission.submission_time])
    if submission.intended_recipients:
        _slot(package, "intendedRecipient", list(submission.intended_recipients))
    _localized(package, "Name", submission.title)
    for index, author in enumerate(submission.authors):
        _write_author(package, submission.entry_id, SS["author"], f"{submission.entry_id}-author{index}", author)
    if submission.content_type is not None:
        _write_code(package, submission.entry_id, SS["contentTypeCode"], f"{submission.entry_id}-content",
                    submission.content_type)
    SubElement(package, f"{{{RIM}}}Classification", id=f"{submission.entry_id}-class",
               classificationNode=SUBMISSION_SET, classifiedObject=submission.entry_id,
               objectType=CLASSIFICATION_OBJECT)
    for name in ("patientId", "sourceId", "uniqueId"):
        value = {"patientId": submission.patient_id, "sourceId": submission.source_id,
                 "uniqueId": submission.unique_id}[name]
        _identifier(package, submission.entry_id, SS[name], f"{submission.entry_id}-{name}", value,
                    f"XDSSubmissionSet.{name}")


def _write_entry(objects: Element, entry: DocumentEntry) -> None:
    extrinsic = SubElement(objects, f"{{{RIM}}}ExtrinsicObject", id=entry.entry_id, mimeType=entry.mime_type,
                           objectType=DOCUMENT_ENTRY)
    slots = [("creationTime", [entry.creation_time]), ("hash", [entry.hash]), ("languageCode", [entry.language]),
             ("legalAuthenticator", [entry.legal_authenticator]), ("serviceStartTime", [entry.service_start]),
             ("serviceStopTime", [entry.service_stop]),
             ("size", [str(entry.size)] if entry.size is not None else [""]),
             ("sourcePatientId", [entry.source_patient_id]), ("sourcePatientInfo", list(entry.source_patient_info)),
             ("URI", [entry.uri])]
    for name, values in slots:
        if any(values):
            _slot(extrinsic, name, values)
    _localized(extrinsic, "Name", entry.title)
    for index, author in enumerate(entry.authors):
        _write_author(extrinsic, entry.entry_id, DE["author"], f"{entry.entry_id}-author{index}", author)
    for name in _CODES:
        if name in entry.codes:
            _write_code(extrinsic, entry.entry_id, DE[name], f"{entry.entry_id}-{name}", entry.codes[name])
    _identifier(extrinsic, entry.entry_id, DE["patientId"], f"{entry.entry_id}-patientId", entry.patient_id,
                "XDSDocumentEntry.patientId")
    _identifier(extrinsic, entry.entry_id, DE["uniqueId"], f"{entry.entry_id}-uniqueId", entry.unique_id,
                "XDSDocumentEntry.uniqueId")


def _write_author(parent: Element, owner: str, scheme: str, ident: str, author: Author) -> None:
    classification = SubElement(parent, f"{{{RIM}}}Classification", id=ident, classificationScheme=scheme,
                                classifiedObject=owner, nodeRepresentation="", objectType=CLASSIFICATION_OBJECT)
    for name, values in (("authorPerson", [author.person]), ("authorInstitution", list(author.institutions)),
                         ("authorRole", list(author.roles)), ("authorSpecialty", list(author.specialties))):
        if any(values):
            _slot(classification, name, values)


def _write_code(parent: Element, owner: str, scheme: str, ident: str, code: Code) -> None:
    classification = SubElement(parent, f"{{{RIM}}}Classification", id=ident, classificationScheme=scheme,
                                classifiedObject=owner, nodeRepresentation=code.code,
                                objectType=CLASSIFICATION_OBJECT)
    _slot(classification, "codingScheme", [code.scheme])
    _localized(classification, "Name", code.display or code.code)


def _identifier(parent: Element, owner: str, scheme: str, ident: str, value: str, label: str) -> None:
    identifier = SubElement(parent, f"{{{RIM}}}ExternalIdentifier", id=ident, registryObject=owner,
                            identificationScheme=scheme, value=value,
                            objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:"
                                       "ExternalIdentifier")
    _localized(identifier, "Name", label)


def _slot(parent: Element, name: str, values: list[str]) -> None:
    slot = SubElement(parent, f"{{{RIM}}}Slot", name=name)
    value_list = SubElement(slot, f"{{{RIM}}}ValueList")
    for value in values:
        SubElement(value_list, f"{{{RIM}}}Value").text = value


def _localized(parent: Element, element: str, value: str) -> None:
    holder = SubElement(parent, f"{{{RIM}}}{element}")
    SubElement(holder, f"{{{RIM}}}LocalizedString", {"{http://www.w3.org/XML/1998/namespace}lang": "fr-FR",
                                                     "charset": "UTF-8", "value": value})
