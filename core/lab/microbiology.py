"""Cultures and antibiograms: which organism each antibiotic's S/I/R belongs to.

The results stay in Report.observations (nothing is moved out of the table);
this module only says how they group:

- HL7 says it: a susceptibility OBR is a child of the OBX naming the organism,
  by OBR-26 (the parent result: OBX-3 code ^ OBX-4 sub-id ^ organism) and
  OBR-29 (the parent order).  `linked_organism` builds an organism from that link.
- HPRIM does not: labs write the organism as a type A result ("Germe identifié
  | Escherichia coli") and the antibiotics after it, one type A line each, whose
  value is S, I or R ("Sensible"...).  `find_organisms` groups each run of S/I/R
  results under the nearest result before it that names an organism (a result
  called germe/organisme/identification/culture..., or whose value is a species
  name such as "Staphylococcus aureus").  A run with no such result before it is
  kept under "organism not named": never under a guess.

An organism is resistant when one antibiotic is R; multi-resistant when the
lab says so in its name, its result or a comment within its antibiogram
(BLSE, SARM, BHRe, EPC...; "absence de BLSE" or "BLSE: négatif" say the contrary).
"""
from __future__ import annotations

import bisect
import re

from pli.core.lab.flags import susceptibility
from pli.core.lab.model import MULTI_RESISTANCE, Observation, Organism, Susceptibility

UNNAMED = "organism not named"
_SIR = frozenset({"S", "I", "R", "s", "i", "r"})
_ORGANISM_LABEL = re.compile(r"germe|organisme|bact[ée]rie|identification|souche|isolat|culture|levure|"
                             r"champignon|organism|isolate", re.IGNORECASE)
# "Escherichia coli", "Staphylococcus aureus", "Klebsiella pneumoniae (BLSE)", "Candida spp."
_SPECIES = re.compile(r"[A-Z][a-z]{3,}\s+(?:[a-z]{3,}|spp?\.?)\b.*")
_NEGATIVE = re.compile(r"\b(absence|absent|n[ée]gati|non\b|pas de|aucun|not detected|negative)", re.IGNORECASE)
_TEST = re.compile(r"recherche|d[ée]pistage|screening|\btest", re.IGNORECASE)
_POSITIVE = re.compile(r"\b(positi|pr[ée]sence|d[ée]tect[ée]|oui|yes)|(?:^|[\s:])\+", re.IGNORECASE)


def find_organisms(observations: tuple[Observation, ...] | list[Observation], comments=(),
                   positions=()) -> tuple[Organism, ...]:
    """The organisms of a report that does not link them (HPRIM, HL7 without child OBRs)."""
    if not any(o.lab_flag in _SIR or (len(o.value) < 17 and susceptibility(o.value)) for o in observations):
        return ()   # nearly every report: no antibiogram, found without assessing each result
    organisms: list[Organism] = []
    runs = _runs(observations)
    previous_end = 0
    for start, end in runs:
        named = _named_before(observations, previous_end, start)
        first = named if named is not None else start
        notes = _notes(observations, comments, positions, first, end)
        organisms.append(_organism(observations, named, range(start, end), notes))
        previous_end = end
    return tuple(organisms)


def linked_organism(observations, organism: int, members: list[int], name: str = "",
                    comments=(), positions=()) -> Organism:
    """The organism HL7 names (its OBX index, or -1 with only OBR-26's text) and its child results."""
    first = organism if organism >= 0 else (members[0] if members else 0)
    last = (members[-1] + 1) if members else first + 1
    notes = _notes(observations, comments, positions, first, last)
    return _organism(observations, organism if organism >= 0 else None, members, notes, name)


def _runs(observations) -> list[tuple[int, int]]:
    """[start, end) of each run of consecutive S/I/R results."""
    runs: list[tuple[int, int]] = []
    start = None
    for index, observation in enumerate(observations):
        if observation.susceptibility is not None and not observation.superseded:
            start = index if start is None else start
        elif start is not None:
            runs.append((start, index))
            start = None
    if start is not None:
        runs.append((start, len(observations)))
    return runs


def _named_before(observations, low: int, start: int) -> int | None:
    """The nearest result before `start` (not before `low`) that names an organism."""
    for index in range(start - 1, low - 1, -1):
        observation = observations[index]
        value = observation.value.strip()
        if not value or observation.number is not None or observation.not_done:
            continue
        if _ORGANISM_LABEL.search(f"{observation.label} {observation.code}") or _SPECIES.fullmatch(value):
            return index
    return None


def _notes(observations, comments, positions, first: int, end: int) -> list[str]:
    """The texts that speak about the organism: its own result and comment, the comments placed
    within its antibiogram, and any other result there (e.g. "Recherche de BLSE | Positif")."""
    texts = []
    for index in range(first, min(end, len(observations))):
        observation = observations[index]
        texts += [f"{observation.label} {observation.value}", observation.comment]
    if comments and positions:
        # Positions ascend (document order): the comments within the antibiogram are one slice.
        texts += comments[bisect.bisect_right(positions, first):bisect.bisect_right(positions, end)]
    return [t for t in texts if t]


def _marker(notes: list[str]) -> str:
    """The multi-resistance marker the notes assert ('' when none, or when they deny it)."""
    for note in notes:
        match = MULTI_RESISTANCE.search(note)
        if match is None or _NEGATIVE.search(note):
            continue
        if _TEST.search(note[:match.start()]) and not _POSITIVE.search(note[match.end():]):
            continue   # "Recherche de BLSE : en cours" asks the question, it does not answer it
        return match.group(1).upper()
    return ""


def _organism(observations, named: int | None, members, notes: list[str], name: str = "") -> Organism:
    if named is not None:
        source = observations[named]
        name = name or source.value.strip()
        code = source.code
    else:
        code = ""
    susceptibilities = tuple(_susceptibility(observations, index) for index in members)
    return Organism(name=name or UNNAMED, code=code, observation=-1 if named is None else named,
                    susceptibilities=susceptibilities, note=_marker(notes))


def _susceptibility(observations, index: int) -> Susceptibility:
    observation = observations[index]
    flag = observation.susceptibility
    measure = "" if flag is not None and observation.value.strip().upper() == flag.value else observation.value
    if flag is not None and measure and measure.strip().upper().startswith(("SENS", "RESI", "RÉSI", "INTER")):
        measure = ""
    return Susceptibility(antibiotic=observation.label or observation.code, code=observation.code,
                          interpretation=flag.value if flag is not None else "", value=measure,
                          unit=observation.unit if measure else "", observation=index)
