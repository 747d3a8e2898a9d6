"""The lab results of a CDA lab report (CI-SIS CR-BIO, IHE PaLM XD-LAB) as pli's Report and Observations.

    document = read_cda(data)
    if document.is_lab_report:
        report = lab_report(document)      # pli.core.lab.model.Report: flags, triage, trends, exports as usual

Where the results are (IHE PaLM TF-3 XD-LAB, CI-SIS "Compte rendu
d'examens de biologie médicale"): each lab section (chapter, sub-section)
has entries whose act is a "Laboratory Report Data Processing Entry"
(templateId 1.3.6.1.4.1.19376.1.3.1); inside it, observations (templateId
1.3.6.1.4.1.19376.1.3.1.6), alone or grouped in battery organizers, carry
the code (LOINC), the value (PQ with its UCUM unit, or text, or a code), the
interpretation code (HL7 v3 ObservationInterpretation: N, L, H, LL, HH, A,
AA, <, > are the same letters as HL7 v2 table 0078, so they become the lab's
flag as HPRIM and HL7 v2 flags do; any other code is kept raw and shown "not
interpreted"), the reference range (referenceRange/observationRange) and the
status.  Values keep the lab's digits.
"""
from __future__ import annotations

from xml.etree.ElementTree import Element

from pli.core.lab.cda import LOINC, XSI_TYPE, CdaDocument, MalformedCda, hl7_path, hl7_time, text_of
from pli.core.lab.model import Lab, Observation, Patient, Prescriber, ReferenceRange, Report
from pli.core.safe_xml import ns_tag

LAB_ENTRY = "1.3.6.1.4.1.19376.1.3.1"          # Laboratory Report Data Processing Entry
LAB_OBSERVATION = "1.3.6.1.4.1.19376.1.3.1.6"
COMMENT = "1.3.6.1.4.1.19376.1.5.3.1.4.2"     # IHE PCC Annotation Comments
# statusCode (HL7 v3 ActStatus) as the HL7 v2 OBX-11 letters pli shows for HPRIM and HL7 v2 results.
_STATUS = {"completed": "F", "active": "P", "aborted": "X", "cancelled": "X", "held": "I", "suspended": "I"}
_MAX_OBSERVATIONS = 10_000


def lab_report(document: CdaDocument) -> Report:
    """The document's results as one Report (one patient per CDA document)."""
    if document.root is None:
        raise MalformedCda("the document was not read by read_cda")
    body = document.root.find(hl7_path("component/structuredBody"))
    observations: list[Observation] = []
    comments: list[str] = []
    for section, chapter in _lab_sections(body):
        for entry in section.findall(hl7_path("entry")):
            act = _lab_act(entry)
            if act is not None:
                _collect(act, chapter, document.narrative_ids, observations, comments)
        if len(observations) > _MAX_OBSERVATIONS:
            raise MalformedCda(f"it holds more than {_MAX_OBSERVATIONS} results")
    return Report(
        patient=lab_patient(document), observations=tuple(observations), lab=_lab(document),
        prescriber=_prescriber(document.root), reference=_order(document.root),
        collected=_collected(document.root, observations), title=document.title,
        comments=tuple(comments), text=document.text(), format="cda")


def lab_patient(document: CdaDocument) -> Patient:
    """The CDA patient in the lab model: the INS-NIR is the social-security number (the matricule INS is the
    NIR), the first local identifier the lab's patient id, the birth name the last name."""
    patient = document.patient
    ins = patient.ins
    nir = ins.extension if ins is not None and ins.kind.startswith("INS-NIR") else ""
    local = patient.local_ids
    # The CI-SIS puts an INS under its OID only once the identity is qualified: that, and only that,
    # lets the FHIR export name it as the INS (a test INS stays a plain number).
    ins_oid = ins.root if nir and ins.qualified else ""
    return Patient(last_name=patient.family, first_name=patient.given, birth_date=patient.birth_date,
                   ssn=nir, sex=patient.sex, patient_id=local[0].extension if local else "",
                   address1=patient.address1, postcode=patient.postcode, town=patient.town, ins_oid=ins_oid)


def _lab_sections(body: Element | None):
    """(section, chapter title) for every section and sub-section, depth first, in document order."""
    if body is None:
        return
    stack = [(s, "") for s in reversed(body.findall(hl7_path("component/section")))]
    while stack:
        section, chapter = stack.pop()
        title = text_of(section.find(hl7_path("title"))) or chapter or _display(section.find(hl7_path("code")))
        yield section, title
        stack.extend((s, title) for s in reversed(section.findall(hl7_path("component/section"))))


def _lab_act(entry: Element) -> Element | None:
    """The act of a Laboratory Report Data Processing Entry (XD-LAB puts the templateId on the entry, some
    senders on the act)."""
    act = entry.find(hl7_path("act"))
    if act is not None and LAB_ENTRY in _templates(entry) | _templates(act):
        return act
    return None


def _collect(act: Element, chapter: str, narrative: dict[str, str], observations: list[Observation],
             comments: list[str]) -> None:
    """Every lab observation under `act`, in document order, with the panel (battery) it sits in."""
    stack: list[tuple[Element, str]] = [(act, chapter)]
    while stack:
        element, panel = stack.pop()
        name = ns_tag(element)[1]
        nested = ("observation", "organizer", "act")
        if name == "observation" and _is_result(element):
            observations.append(_observation(element, panel, narrative))
            nested = ("observation", "organizer")      # its comment acts are its own (Observation.comment)
        elif name == "act" and COMMENT in _templates(element):
            text = _resolved_text(element.find(hl7_path("text")), narrative)
            if text:
                comments.append(text)
            continue
        if name == "organizer":
            panel = _display(element.find(hl7_path("code"))) or panel
        children = [c for c in element if ns_tag(c)[1] in ("entryRelationship", "component")]
        for child in reversed(children):
            stack.extend((grand, panel) for grand in reversed(list(child)) if ns_tag(grand)[1] in nested)


def _is_result(observation: Element) -> bool:
    if observation.get("moodCode", "EVN") != "EVN":
        return False
    return LAB_OBSERVATION in _templates(observation) or observation.find(hl7_path("value")) is not None


def _observation(element: Element, panel: str, narrative: dict[str, str]) -> Observation:
    code = element.find(hl7_path("code"))
    code_value = code.get("code", "") if code is not None else ""
    is_loinc = code is not None and code.get("codeSystem") == LOINC
    loinc = code_value if is_loinc else _loinc_translation(code)
    value, unit, value_type = _value(element.find(hl7_path("value")), narrative)
    flag = element.find(hl7_path("interpretationCode"))
    status = element.find(hl7_path("statusCode"))
    # Observation.code is the lab's own code: a LOINC code goes to `loinc` only, so that lists show the
    # lab's label ("Thyroxine libre (FT4)") rather than "3024-7".
    return Observation(
        code="" if is_loinc else code_value, label=_label(code, narrative) or code_value, value=value, unit=unit,
        reference=_reference(element), lab_flag=flag.get("code", "") if flag is not None else "",
        status=_STATUS.get(status.get("code", ""), status.get("code", "")) if status is not None else "",
        value_type=value_type, loinc=loinc, panel=panel, comment=_observation_comments(element, narrative))


def _value(value: Element | None, narrative: dict[str, str]) -> tuple[str, str, str]:
    """(value as the lab wrote it, unit, HL7 v3 data type)."""
    if value is None:
        return "", "", ""
    kind = value.get(XSI_TYPE, "").split(":")[-1]
    if value.get("nullFlavor"):
        return "", "", kind
    if kind == "PQ":
        return value.get("value", ""), _unit(value), kind
    if kind == "IVL_PQ":
        bound = value.find(hl7_path("high"))
        return _interval(value), _unit(bound if bound is not None else value.find(hl7_path("low"))), kind
    if kind in ("CD", "CE", "CV", "CO"):
        return (value.get("displayName") or _resolved_text(value.find(hl7_path("originalText")), narrative)
                or value.get("code", "")), "", kind
    if kind in ("RTO", "RTO_PQ_PQ", "RTO_INT_INT"):
        numerator, denominator = value.find(hl7_path("numerator")), value.find(hl7_path("denominator"))
        if numerator is not None and denominator is not None:
            return f"{numerator.get('value', '')}:{denominator.get('value', '')}", "", kind
    if value.get("value") is not None:
        return value.get("value", ""), "", kind               # INT, REAL, BL, TS
    return _resolved_text(value, narrative), "", kind          # ST, ED


def _interval(value: Element) -> str:
    """IVL_PQ as a result: '<0.5' (high, not inclusive), '<=0.5', '>40', or '3-5' for both ends."""
    low, high = value.find(hl7_path("low")), value.find(hl7_path("high"))
    if low is not None and high is not None and low.get("value") and high.get("value"):
        return f"{low.get('value')}-{high.get('value')}"
    if high is not None and high.get("value"):
        return ("<" if high.get("inclusive") == "false" else "<=") + high.get("value", "")
    if low is not None and low.get("value"):
        return (">" if low.get("inclusive") == "false" else ">=") + low.get("value", "")
    return ""


def _unit(quantity: Element | None) -> str:
    unit = quantity.get("unit", "") if quantity is not None else ""
    return "" if unit == "1" else unit          # UCUM "1": no unit


def _reference(observation: Element) -> ReferenceRange:
    """The normal range: the observationRange marked N (or unmarked), low/high or its text."""
    ranges = observation.findall(hl7_path("referenceRange/observationRange"))
    chosen = next((r for r in ranges if _attr_of(r, "interpretationCode", "code") in ("N", "")), None)
    if chosen is None:
        return ReferenceRange()
    value = chosen.find(hl7_path("value"))
    if value is not None:
        low, high = value.find(hl7_path("low")), value.find(hl7_path("high"))
        low_text = low.get("value", "") if low is not None else ""
        high_text = high.get("value", "") if high is not None else ""
        if low_text or high_text:
            return ReferenceRange(low_text, high_text)
    text = text_of(chosen.find(hl7_path("text")))
    return ReferenceRange.parse(text) if text else ReferenceRange()


def _observation_comments(observation: Element, narrative: dict[str, str]) -> str:
    texts = []
    for relation in observation.findall(hl7_path("entryRelationship")):
        act = relation.find(hl7_path("act"))
        if act is not None and COMMENT in _templates(act):
            text = _resolved_text(act.find(hl7_path("text")), narrative)
            if text:
                texts.append(text)
    return "\n".join(texts)


def _label(code: Element | None, narrative: dict[str, str]) -> str:
    """The name the lab shows: the narrative text originalText points at, else the code's displayName."""
    if code is None:
        return ""
    return _resolved_text(code.find(hl7_path("originalText")), narrative) or code.get("displayName", "")


def _resolved_text(element: Element | None, narrative: dict[str, str]) -> str:
    """An ED/originalText: its own text, else the narrative element its <reference value="#id"/> names."""
    if element is None:
        return ""
    own = text_of(element)
    if own:
        return own
    reference = element.find(hl7_path("reference"))
    target = reference.get("value", "") if reference is not None else ""
    return narrative.get(target[1:], "") if target.startswith("#") else ""


def _loinc_translation(code: Element | None) -> str:
    if code is None:
        return ""
    for translation in code.findall(hl7_path("translation")):
        if translation.get("codeSystem") == LOINC:
            return translation.get("code", "")
    return ""


def _lab(document: CdaDocument) -> Lab:
    author = document.author
    return Lab(code=author.organisation_id, name=author.organisation)


def _prescriber(root: Element) -> Prescriber:
    """The ordering physician: participant typeCode REF (the CI-SIS CR-BIO's "prescripteur")."""
    for participant in root.findall(hl7_path("participant")):
        if participant.get("typeCode") == "REF":
            entity = participant.find(hl7_path("associatedEntity"))
            name = entity.find(hl7_path("associatedPerson/name")) if entity is not None else None
            return Prescriber(code=_attr_of(entity, "id", "extension"),
                              family=text_of(name.find(hl7_path("family"))) if name is not None else "",
                              given=text_of(name.find(hl7_path("given"))) if name is not None else "")
    return Prescriber()


def _order(root: Element) -> str:
    return _attr_of(root.find(hl7_path("inFulfillmentOf/order")), "id", "extension")


def _collected(root: Element, observations: list[Observation]):
    """The specimen time: the collector's participation (functionCode PRELV), else the service event's start."""
    for participant in root.findall(hl7_path("participant")):
        if _attr_of(participant, "functionCode", "code") == "PRELV":
            time = participant.find(hl7_path("time"))
            if time is not None:
                moment = (hl7_time(time.get("value", "")) or hl7_time(_attr_of(time, "high", "value"))
                          or hl7_time(_attr_of(time, "low", "value")))
                if moment is not None:
                    return moment
    return hl7_time(_attr_of(root.find(hl7_path("documentationOf/serviceEvent")), "effectiveTime/low", "value"))


def _display(code: Element | None) -> str:
    return code.get("displayName", "") if code is not None else ""


def _templates(element: Element) -> set[str]:
    return {t.get("root", "") for t in element.findall(hl7_path("templateId"))}


def _attr_of(parent: Element | None, path: str, attribute: str) -> str:
    element = parent.find(hl7_path(path)) if parent is not None else None
    return element.get(attribute, "") if element is not None else ""
