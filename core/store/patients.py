"""Patients the store keeps apart although they look alike: what the patient view warns about.

A `patient:<key>` tag holds the model's Patient.key: last and first names and
birth date, then `-n` and a short hash of the social-security number when the
report gives one ('fictif-zoe-19650412-ndb5d35de2b'; pli.core.lab.model).  Two
keys with the same number hash are two people under one number (a child sent
under a parent's number, or a typing error); two keys with the same names and
birth date but other numbers may be one person the labs identify differently.
pli never merges them (their tags and trends stay apart); the patient view
names the others, so that the reader knows and decides.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pli.core.vocab import PATIENT_PREFIX as PATIENT_TAG

_KEY = re.compile(r"(?P<names>.+?)-(?P<born>\d{8}|nodob)(?:-n(?P<number>[0-9a-f]+))?")


@dataclass(frozen=True)
class Related:
    key: str
    why: str          # "same social-security number" | "same name and birth date, another number"

    @property
    def described(self) -> str:
        return describe(self.key)


def related(tags: Iterable[str], key: str) -> list[Related]:
    """The other patients of the store that share this one's number, or its name and birth date."""
    mine = _KEY.fullmatch(key)
    if mine is None:
        return []
    found = []
    for tag in sorted(tags):
        if not tag.startswith(PATIENT_TAG) or tag == PATIENT_TAG + key:
            continue
        other = _KEY.fullmatch(tag[len(PATIENT_TAG):])
        if other is None:
            continue
        if mine["number"] and other["number"] == mine["number"]:
            found.append(Related(other.string, "same social-security number"))
        elif (other["names"], other["born"]) == (mine["names"], mine["born"]) and mine["born"] != "nodob":
            found.append(Related(other.string, "same name and birth date, another or no number"))
    return found


def describe(key: str) -> str:
    """'fictif leo, born 03.02.2015' from a patient key (no number: it is only a hash)."""
    match = _KEY.fullmatch(key)
    if match is None:
        return key
    born = match["born"]
    when = datetime.strptime(born, "%Y%m%d").strftime("%d.%m.%Y") if born != "nodob" else "no birth date"
    return f"{match['names'].replace('-', ' ')}, born {when}"
