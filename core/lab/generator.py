"""Realistic, seeded lab traffic for tests, benchmarks and the demo: reports, their files, their mails.

Everything is invented: labs, prescribers, and patients whose last names say
so (FICTIF, EXEMPLE...), with social-security numbers in département 00, which
does not exist.  The same seed gives the same bytes, on every machine.

Each GeneratedMessage holds the Reports exactly as pli's parsers will read
them back from its attachment (tests/core/lab/test_generator.py proves it for
both formats and both encodings), the attachment bytes, and the inner MIME
message a lab would send (From lab / To prescriber / Subject "Résultats ...
NAME" / a short text body + the attachment), ready to be sealed.

Patients come back over months (series for the trend plot); a patient's
conditions shape their values, so that about one report in five is abnormal
and a few are critical.
"""
from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import random
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from functools import cached_property
from typing import Iterator, Sequence

from pli.core.lab import hl7v2, hprim
from pli.core.lab.detect import file_suffix, media_type
from pli.core.lab.model import Lab, Observation, Patient, Prescriber, ReferenceRange, Report

FORMATS = ("hprim", "hl7")
ENCODINGS = ("iso-8859-1", "utf-8")
DEFAULT_END = datetime(2026, 11, 30, 8, 0)
#: Generated times are lab-local; mails carry them at a fixed +01:00 so that bytes never depend
#: on the machine's time zone.
LAB_TZ = timezone(timedelta(hours=1))
SPAN_DAYS = 365


@dataclass(frozen=True)
class LabSite:
    code: str
    name: str
    address: str
    decimal_comma: bool     # writes "6,8" rather than "6.8"
    flags_all: bool         # flags every abnormal value; False: only critical ones (pli computes the rest)


@dataclass(frozen=True)
class Practitioner:
    code: str
    family: str
    given: str
    address: str

    @property
    def display(self) -> str:
        return f"Dr {self.given} {self.family.upper()}"


LABS = (
    LabSite("LABM-ESTUAIRE", "Laboratoire de l'Estuaire", "resultats@labo-estuaire.example", True, True),
    LabSite("BIO-COLLINES", "Biologie des Collines", "envoi@bio-collines.example", True, False),
    LabSite("CHG-BIOLOGIE", "CHG Val Fictif, biologie", "hl7@chg-valfictif.example", False, True),
)
PRACTITIONERS = (
    Practitioner("10000000001", "Martin", "Claire", "claire.martin@cabinet-demo.example"),
    Practitioner("10000000002", "Bernard", "Hugo", "hugo.bernard@cabinet-demo.example"),
    Practitioner("10000000003", "Lefèvre", "Anaïs", "anais.lefevre@msp-demo.example"),
)
_LAST = ("FICTIF", "EXEMPLE", "ESSAI", "MODELE", "SPECIMEN", "MAQUETTE", "TEMOIN", "SIMULE", "PLACEBO",
         "FAUXNOM", "DEMONSTRATION", "PROTOTYPE", "ECHANTILLON", "BROUILLON", "FACTICE", "IMAGINAIRE",
         "INVENTE", "PSEUDO", "TESTARD", "FANTOME")
_FIRST_F = ("Zoé", "Hélène", "Cécile", "Anaïs", "Léa", "Marie", "Inès", "Chloé", "Agnès", "Odile")
_FIRST_M = ("Noël", "François", "Jérôme", "Loïc", "Hugo", "Jean", "Rémi", "Gaël", "André", "Paul")
_STREETS = ("rue des Essais", "avenue de l'Exemple", "impasse Fictive", "place du Modèle", "chemin d'Essai")
_TOWNS = (("00100", "VILLE-FICTIVE"), ("00200", "BOURG-EXEMPLE"), ("00300", "SAINT-ESSAI"))


@dataclass(frozen=True)
class Test:
    """A lab test as generated: code, label, unit, normal range, LOINC, plausible spread."""

    code: str
    label: str
    unit: str
    low: float | None
    high: float | None
    mean: float
    sd: float
    decimals: int
    loinc: str
    critical_low: float | None = None
    critical_high: float | None = None
    second: tuple[str, float] | None = None   # (unit, factor): HPRIM's second value in another unit


@dataclass(frozen=True)
class Panel:
    code: str
    label: str
    tests: tuple[Test, ...]


PANELS = (
    Panel("IONO", "Ionogramme", (
        Test("Na", "Sodium", "mmol/l", 136, 145, 140, 2.5, 0, "2951-2", 125, 155),
        Test("K", "Potassium", "mmol/l", 3.5, 5.0, 4.2, 0.35, 1, "2823-3", 2.8, 6.2),
        Test("Cl", "Chlore", "mmol/l", 98, 107, 102, 2.5, 0, "2075-0"),
        Test("CO2", "Bicarbonates", "mmol/l", 22, 29, 25, 1.8, 0, "1963-8"))),
    Panel("RENAL", "Fonction rénale", (
        Test("Creat", "Créatinine", "µmol/l", 60, 110, 82, 12, 0, "14682-9", None, 500, ("mg/l", 0.113)),
        Test("Uree", "Urée", "mmol/l", 2.5, 7.5, 5.0, 1.1, 1, "22664-7"),
        Test("DFG", "DFG (CKD-EPI)", "ml/min/1,73m²", 60, None, 88, 12, 0, "62238-1", 15))),
    Panel("NFS", "Numération formule sanguine", (
        Test("Hb", "Hémoglobine", "g/dl", 12, 16, 13.8, 1.0, 1, "718-7", 7, 20),
        Test("GB", "Leucocytes", "G/l", 4, 10, 6.8, 1.4, 1, "6690-2", 1, 30),
        Test("Plaq", "Plaquettes", "G/l", 150, 400, 250, 50, 0, "777-3", 50, 1000),
        Test("Ht", "Hématocrite", "%", 36, 46, 41, 2.5, 1, "4544-3"),
        Test("VGM", "VGM", "fl", 80, 100, 89, 4, 0, "787-2"))),
    Panel("HEPAT", "Bilan hépatique", (
        Test("ASAT", "ASAT (TGO)", "UI/l", None, 35, 24, 6, 0, "1920-8"),
        Test("ALAT", "ALAT (TGP)", "UI/l", None, 45, 26, 8, 0, "1742-6"),
        Test("GGT", "Gamma-GT", "UI/l", None, 55, 30, 12, 0, "2324-2"),
        Test("PAL", "Phosphatases alcalines", "UI/l", 40, 130, 75, 18, 0, "6768-6"),
        Test("BiliT", "Bilirubine totale", "µmol/l", None, 21, 10, 3.5, 0, "14631-6"))),
    Panel("LIPIDES", "Bilan lipidique", (
        Test("CT", "Cholestérol total", "mmol/l", None, 5.2, 4.9, 0.7, 2, "14647-2", None, None,
             ("g/l", 0.387)),
        Test("HDL", "HDL-cholestérol", "mmol/l", 1.0, None, 1.4, 0.3, 2, "14646-4"),
        Test("LDL", "LDL-cholestérol", "mmol/l", None, 3.0, 2.9, 0.6, 2, "22748-8"),
        Test("TG", "Triglycérides", "mmol/l", None, 1.7, 1.2, 0.4, 2, "14927-8"))),
    Panel("GLYC", "Glycémie", (
        Test("Gly", "Glycémie à jeun", "mmol/l", 3.9, 5.5, 5.0, 0.5, 2, "14771-0", 2.5, 25,
             ("g/l", 0.18)),
        Test("HbA1c", "Hémoglobine glyquée", "%", 4.0, 6.0, 5.5, 0.4, 1, "4548-4"))),
    Panel("INR", "Hémostase", (
        Test("TP", "Taux de prothrombine", "%", 70, 130, 95, 10, 0, "5894-1"),
        Test("INR", "INR", "", 0.8, 1.2, 1.0, 0.08, 2, "6301-6", None, 5.0))),
    Panel("TSH", "Thyroïde", (
        Test("TSH", "TSH", "mUI/l", 0.4, 4.0, 1.8, 0.7, 2, "3016-3", None, 50),)),
    Panel("CRP", "Inflammation", (
        Test("CRP", "Protéine C réactive", "mg/l", None, 5, 2.5, 2.0, 1, "1988-5", None, 200),)),
)
_PANELS = {panel.code: panel for panel in PANELS}

#: Conditions a patient may have: which panels they get often, and how their values shift.
_CONDITIONS = {
    "diabetes": (("GLYC", "RENAL", "LIPIDES"), {"Gly": (4.0, 1.8), "HbA1c": (2.0, 0.9)}),
    "renal": (("RENAL", "IONO", "NFS"), {"Creat": (90, 60), "Uree": (6.0, 3.0), "DFG": (-40, 12),
                                         "K": (0.6, 0.6), "Hb": (-1.8, 0.8)}),
    "avk": (("INR", "NFS"), {"INR": (1.5, 0.6), "TP": (-60, 8)}),
    "thyroid": (("TSH",), {"TSH": (4.0, 3.0)}),
    "liver": (("HEPAT", "NFS"), {"ASAT": (40, 25), "ALAT": (55, 30), "GGT": (120, 70)}),
    "dyslipidemia": (("LIPIDES",), {"CT": (1.5, 0.6), "LDL": (1.3, 0.5), "TG": (0.9, 0.5)}),
}
_COMMON = ("NFS", "IONO", "RENAL", "CRP", "GLYC", "LIPIDES", "HEPAT", "TSH")
_TEST_COMMENTS = ("Contrôle conseillé.", "Résultat vérifié sur un second prélèvement.",
                  "Échantillon légèrement hémolysé.")


@dataclass(frozen=True)
class GeneratedPatient:
    patient: Patient
    lab: LabSite
    practitioner: Practitioner
    conditions: tuple[str, ...]
    shifts: dict[str, tuple[float, float]]   # test code -> (mean shift, extra spread) from the conditions

    @cached_property
    def hprim_patient(self) -> Patient:
        """The patient as an HPRIM header carries them (no sex, no lab patient id)."""
        p = self.patient
        return Patient(last_name=p.last_name, first_name=p.first_name, birth_date=p.birth_date, ssn=p.ssn,
                       address1=p.address1, address2=p.address2, postcode=p.postcode, town=p.town)


@dataclass(frozen=True)
class GeneratedMessage:
    """One lab mail: its reports, the attachment holding them, and the inner MIME message."""

    index: int
    format: str              # "hprim" | "hl7"
    encoding: str            # "iso-8859-1" | "utf-8"
    reports: tuple[Report, ...]
    payload: bytes           # the lab file, as attached
    filename: str
    lab: LabSite
    practitioner: Practitioner
    date: datetime
    message_id: str

    @property
    def sender(self) -> str:
        return f'"{self.lab.name}" <{self.lab.address}>'

    @property
    def recipient(self) -> str:
        return f'"{self.practitioner.display}" <{self.practitioner.address}>'

    @property
    def subject(self) -> str:
        names = ", ".join(dict.fromkeys(r.patient.display for r in self.reports))
        return f"Résultats {names}"

    @cached_property
    def inner_bytes(self) -> bytes:
        """The inner MIME message as bytes (built directly: 100,000 of them must take seconds)."""
        return _mime_bytes(self)

    @property
    def message(self) -> EmailMessage:
        """The inner MIME message as an EmailMessage (parsed from inner_bytes)."""
        return email.message_from_bytes(self.inner_bytes, policy=email.policy.default)


class Generator:
    """A seeded source of lab traffic.  Same seed and arguments: same messages, same bytes."""

    def __init__(self, seed: int = 0, *, patients: int = 200, end: datetime = DEFAULT_END,
                 span_days: int = SPAN_DAYS, formats: Sequence[str] = FORMATS,
                 encodings: Sequence[str] = ENCODINGS, practitioners: Sequence[Practitioner] = PRACTITIONERS,
                 labs: Sequence[LabSite] = LABS):
        self.rng = random.Random(seed)
        self.seed = seed
        self.end = end
        self.span = timedelta(days=span_days)
        self.formats = tuple(formats)
        self.encodings = tuple(encodings)
        self.labs = tuple(labs)
        self.practitioners = tuple(practitioners)
        self.patients = [self._patient(i) for i in range(max(1, patients))]
        self.count = 0

    def messages(self, count: int) -> Iterator[GeneratedMessage]:
        """`count` messages, dated in increasing order over the span ending at `end`."""
        rng = self.rng
        start = self.end - self.span
        step = self.span / max(count, 1)
        for i in range(count):
            when = start + step * i + timedelta(minutes=rng.randrange(0, 600))
            yield self._message(when.replace(second=0, microsecond=0))

    # -- people

    def _patient(self, number: int) -> GeneratedPatient:
        rng = self.rng
        female = rng.random() < 0.52
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 365 * 85))
        first = rng.choice(_FIRST_F if female else _FIRST_M)
        last = f"{rng.choice(_LAST)}-{_letters(number)}" if number >= len(_LAST) else _LAST[number]
        postcode, town = rng.choice(_TOWNS)
        nir = ""
        if rng.random() < 0.8:
            body = f"{2 if female else 1}{born:%y%m}00{rng.randrange(1, 999):03d}{rng.randrange(1, 999):03d}"
            nir = f"{body}{97 - int(body) % 97:02d}"
        patient = Patient(last_name=last, first_name=first, birth_date=born, ssn=nir, sex="F" if female else "M",
                          patient_id=f"P{self.seed % 1000:03d}{number:06d}",
                          address1=f"{rng.randrange(1, 120)} {rng.choice(_STREETS)}",
                          address2="Bâtiment B" if rng.random() < 0.15 else "", postcode=postcode, town=town)
        conditions = tuple(c for c in _CONDITIONS if rng.random() < 0.12)
        shifts: dict[str, tuple[float, float]] = {}
        for condition in conditions:
            for code, (shift, spread) in _CONDITIONS[condition][1].items():
                before = shifts.get(code, _NO_SHIFT)
                shifts[code] = (before[0] + shift, before[1] + spread)
        return GeneratedPatient(patient, rng.choice(self.labs), rng.choice(self.practitioners), conditions,
                                shifts)

    # -- one message

    def _message(self, when: datetime) -> GeneratedMessage:
        rng = self.rng
        first = rng.choice(self.patients)
        people = [first]
        if rng.random() < 0.05:  # a file holding several patients (same lab, same doctor)
            people += [p for p in rng.sample(self.patients, 2) if p is not first][:1]
        fmt = self.formats[rng.randrange(len(self.formats))]
        encoding = self.encodings[rng.randrange(len(self.encodings))]
        index = self.count
        self.count += 1
        collected = when - timedelta(hours=rng.randrange(2, 30))
        reports = tuple(self._report(p, first.lab, first.practitioner, fmt, collected, index, n)
                        for n, p in enumerate(people))
        if fmt == "hprim":
            payload = hprim.dumps(list(reports), encoding, "\r\n" if rng.random() < 0.7 else "\n")
        else:
            payload = hl7v2.dumps(list(reports), encoding, when=when, control_id=f"{self.seed}.{index}")
        filename = f"resultats-{index:06d}{file_suffix(fmt)}"
        return GeneratedMessage(index, fmt, encoding, reports, payload, filename, first.lab, first.practitioner,
                                when, f"<lab-{self.seed}-{index}@pli-generator.example>")

    def _report(self, who: GeneratedPatient, site: LabSite, doctor: Practitioner, fmt: str,
                collected: datetime, index: int, number: int) -> Report:
        rng = self.rng
        hl7 = fmt == "hl7"
        panels = self._panels(who)
        comma = site.decimal_comma and not hl7
        observations = tuple(self._observation(test, panel, who, site, hl7, comma)
                             for panel in panels for test in panel.tests)
        patient = who.patient if hl7 else who.hprim_patient
        comments = ("Prélèvement effectué à jeun.",) if rng.random() < 0.2 else ()
        reference = f"{collected:%y%m%d}-{index:06d}-{number}"
        if hl7:
            return Report(patient=patient, observations=observations, lab=Lab(site.code, site.name),
                          prescriber=Prescriber(doctor.code, doctor.family, doctor.given), reference=reference,
                          collected=collected, status="F", comments=comments, format="hl7")
        text = (f"{site.name}\nDossier {reference}\n"
                f"Prescripteur : {doctor.display}\nRésultats validés par le biologiste.")
        observations, comments, positions = _hprim_comments(observations, comments)
        return Report(patient=patient, observations=observations, lab=Lab(site.code),
                      prescriber=Prescriber(doctor.code), reference=reference,
                      collected=collected.replace(hour=0, minute=0), title="BIOLOGIE",
                      comments=comments, text=text, format="hprim", comment_positions=positions)

    def _panels(self, who: GeneratedPatient) -> list[Panel]:
        rng = self.rng
        codes: list[str] = []
        for condition in who.conditions:
            codes += [c for c in _CONDITIONS[condition][0] if rng.random() < 0.8]
        codes += rng.sample(_COMMON, rng.randrange(1, 4))
        return [_PANELS[c] for c in dict.fromkeys(codes)]

    def _observation(self, test: Test, panel: Panel, who: GeneratedPatient, site: LabSite, hl7: bool,
                     comma: bool) -> Observation:
        rng = self.rng
        shift, spread = who.shifts.get(test.code, _NO_SHIFT)
        number = rng.gauss(test.mean + shift, test.sd + spread)
        if rng.random() < 0.04:   # an acute event: now and then far out of range
            number = test.mean + rng.choice((-1, 1)) * test.sd * rng.uniform(3, 9)
        # Positive, and rounded before flagging: the lab flags the value it prints.
        number = round(max(number, test.mean * 0.05), test.decimals)
        text = f"{number:.{test.decimals}f}"
        if comma:
            text = text.replace(".", ",")
        value_type = "NM" if hl7 else "N"
        if test.code == "CRP" and number < 1.0:
            text, value_type = "<1", "SN" if hl7 else "N"   # below the assay's limit
        flag = _flag(test, number, site.flags_all)
        comment = ""
        if flag in ("HH", "LL"):
            comment = "Résultat critique téléphoné au prescripteur."
        elif flag and rng.random() < 0.15:
            comment = rng.choice(_TEST_COMMENTS)
        reference, reference2 = _ranges(test, comma)
        if hl7:
            return Observation(test.code, test.label, text, test.unit, reference, flag, "F", value_type,
                               test.loinc, panel.label, comment)
        value2 = unit2 = ""
        if test.second:
            unit2, factor = test.second
            value2 = _decimal(number * factor, max(2, test.decimals), comma)
        return Observation(test.code, test.label, text, test.unit, reference, flag, "F", value_type, "", "",
                           comment, value2, unit2, reference2)


_NO_SHIFT = (0.0, 0.0)


def _hprim_comments(observations: tuple[Observation, ...], comments: tuple[str, ...]):
    """A result's comment as HPRIM carries it: TEX lines after its RES line, which a reader keeps as
    lines of the report in their place (HPRIM does not say which result a TEX line is about)."""
    lines, positions, plain = list(comments), [0] * len(comments), []
    for index, observation in enumerate(observations):
        if observation.comment:
            for line in observation.comment.split("\n"):
                lines.append(line)
                positions.append(index + 1)
            observation = replace(observation, comment="")
        plain.append(observation)
    return tuple(plain), tuple(lines), tuple(positions) if any(positions) else ()


def _ranges(test: Test, comma: bool) -> tuple[ReferenceRange, ReferenceRange]:
    return _RANGES[id(test), comma]


def _make_ranges(test: Test, comma: bool) -> tuple[ReferenceRange, ReferenceRange]:
    """The test's reference range, and the one of its second unit (HPRIM), as the lab writes them."""
    reference = ReferenceRange(_bound(test.low, test.decimals, comma), _bound(test.high, test.decimals, comma))
    if not test.second:
        return reference, ReferenceRange()
    factor, decimals = test.second[1], max(2, test.decimals)
    return reference, ReferenceRange(_bound(test.low and test.low * factor, decimals, comma),
                                     _bound(test.high and test.high * factor, decimals, comma))


def _flag(test: Test, number: float, flags_all: bool) -> str:
    if test.critical_low is not None and number < test.critical_low:
        return "LL"
    if test.critical_high is not None and number > test.critical_high:
        return "HH"
    if not flags_all:
        return ""
    if test.low is not None and number < test.low:
        return "L"
    if test.high is not None and number > test.high:
        return "H"
    return ""


def _decimal(number: float, decimals: int, comma: bool) -> str:
    text = f"{number:.{decimals}f}"
    return text.replace(".", ",") if comma else text


def _bound(number: float | None, decimals: int, comma: bool) -> str:
    return "" if number is None else _decimal(number, decimals, comma)


_RANGES = {(id(test), comma): _make_ranges(test, comma)
           for panel in PANELS for test in panel.tests for comma in (False, True)}


def _letters(number: int) -> str:
    """A short distinct suffix per patient: 0 -> 'A', 25 -> 'Z', 26 -> 'AA'..."""
    out = ""
    number += 1
    while number:
        number, rest = divmod(number - 1, 26)
        out = chr(65 + rest) + out
    return out


def generate(count: int, seed: int = 0, **options) -> list[GeneratedMessage]:
    """`count` generated lab messages (see Generator for the options)."""
    return list(Generator(seed, **options).messages(count))


# -- the inner MIME message, written directly (the email package is 20x slower at this)

_BOUNDARY = "=_pli-lab-part"


def _mime_bytes(m: GeneratedMessage) -> bytes:
    names = ", ".join(dict.fromkeys(r.patient.display for r in m.reports))
    body = (f"Bonjour,\n\nVeuillez trouver ci-joint les résultats de {names}.\n\n"
            f"{m.lab.name}\n")
    attachment = base64.encodebytes(m.payload).decode("ascii")
    charset = "UTF-8" if m.encoding == "utf-8" else "ISO-8859-1"
    head = (f"From: {_header(m.lab.name)} <{m.lab.address}>\n"
            f"To: {_header(m.practitioner.display)} <{m.practitioner.address}>\n"
            f"Subject: {_header(m.subject)}\n"
            f"Date: {email.utils.format_datetime(m.date.replace(tzinfo=LAB_TZ))}\n"
            f"Message-ID: {m.message_id}\n"
            "MIME-Version: 1.0\n"
            f'Content-Type: multipart/mixed; boundary="{_BOUNDARY}"\n\n')
    parts = (f"--{_BOUNDARY}\n"
             "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
             f"{body}"
             f"--{_BOUNDARY}\n"
             f"Content-Type: {media_type(m.format)}; charset={charset}; name=\"{m.filename}\"\n"
             f"Content-Disposition: attachment; filename=\"{m.filename}\"\n"
             "Content-Transfer-Encoding: base64\n\n"
             f"{attachment}"
             f"--{_BOUNDARY}--\n")
    return (head + parts).encode("utf-8")


def _header(text: str) -> str:
    """The text as RFC 2047 encoded words when it is not plain ascii, each under 75 characters."""
    if text.isascii() and '"' not in text:
        return f'"{text}"' if any(c in text for c in ",;:()<>@") else text
    if len(text.encode()) <= 45:
        return "=?utf-8?b?" + base64.b64encode(text.encode()).decode("ascii") + "?="
    words, chunk = [], ""
    for char in text:
        if len((chunk + char).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return "\n ".join("=?utf-8?b?" + base64.b64encode(w.encode()).decode("ascii") + "?=" for w in words)
