"""Import professionals from the public RPPS extract ("PS_LibreAcces_Personne_activite").

The extract is pipe-separated UTF-8 text with a header row, one row per
professional and place of practice (so one person can have several rows).
Columns are found by their header NAME, never by position, so that a
reordered or extended extract still reads.  Only people identified by an RPPS
number (type d'identifiant PP "8", 11 digits) become entries; ADELI rows are
counted and skipped.  E-mail addresses of the extract are those of the
structure, not secure-messaging addresses: they are not imported (an address
enters the directory with its keys, at `pli dir bind`).
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from pli.core.directory.entry import DirectoryEntry
from pli.core.errors import PliError

ID_TYPE = "Type d'identifiant PP"
ID_PP = "Identifiant PP"
ID_NATIONAL = "Identification nationale PP"
TITLE_CODE = "Code civilité d'exercice"
FAMILY_NAME = "Nom d'exercice"
GIVEN_NAME = "Prénom d'exercice"
PROFESSION = "Libellé profession"
SPECIALTY = "Libellé savoir-faire"
ORGANISATION = "Raison sociale site"
SHOP_SIGN = "Enseigne commerciale site"
TOWN_CODE = "Code commune (coord. structure)"
TOWN = "Libellé commune (coord. structure)"

REQUIRED = (ID_PP, FAMILY_NAME, GIVEN_NAME, PROFESSION)
OPTIONAL = (ID_TYPE, ID_NATIONAL, TITLE_CODE, SPECIALTY, ORGANISATION, SHOP_SIGN, TOWN_CODE, TOWN)
RPPS_TYPE = "8"
_TITLES = {"DR": "Dr", "PR": "Pr"}
_RPPS = re.compile(r"\d{11}")


class RppsFormatError(PliError):
    """The file is not an RPPS extract pli can read (a required column is missing)."""


@dataclass(frozen=True)
class RppsImport:
    entries: list[DirectoryEntry]
    rows: int
    skipped: int  # rows without an RPPS number (ADELI and others)


def read_rpps(path: str | os.PathLike) -> RppsImport:
    """People of the extract at `path`, one entry per RPPS number, rows of one person merged."""
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding=_encoding(path), newline="")
        return parse_rpps(text, str(path))


def parse_rpps(lines: Iterable[str], source: str = "the RPPS file") -> RppsImport:
    rows = csv.reader(lines, delimiter="|", quoting=csv.QUOTE_NONE)
    header = next(rows, None)
    if header is None:
        raise RppsFormatError(f"{source} is empty")
    columns = _columns(header, source)
    people: dict[str, DirectoryEntry] = {}
    count = skipped = 0
    for row in _records(rows):
        count += 1
        field = {name: row[i].strip() if i < len(row) else "" for name, i in columns.items()}
        rpps = _rpps_number(field)
        if rpps is None:
            skipped += 1
            continue
        people[rpps] = _merge(people.get(rpps), _entry(rpps, field))
    return RppsImport(list(people.values()), count, skipped)


def update_identities(entries: Iterable[DirectoryEntry], imported: Iterable[DirectoryEntry]) -> list[DirectoryEntry]:
    """`entries` with names, professions, specialties and places refreshed from `imported`.

    Keys, addresses and group memberships already bound are kept; new people are added.
    """
    by_id = {e.id: e for e in entries}
    for fresh in imported:
        old = by_id.get(fresh.id)
        by_id[fresh.id] = fresh if old is None else replace(
            fresh, addresses=old.addresses, keys=old.keys, groups=old.groups)
    return list(by_id.values())


def _encoding(path) -> str:
    # Current extracts are UTF-8 (with or without BOM); older ones were Windows-1252.
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as raw:
        try:
            for chunk in iter(lambda: raw.read(1 << 20), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            return "cp1252"


def _columns(header: list[str], source: str) -> dict[str, int]:
    index = {name.strip().lstrip("\ufeff"): i for i, name in enumerate(header)}
    missing = [name for name in REQUIRED if name not in index]
    if missing:
        raise RppsFormatError(f"{source} is not an RPPS extract: missing "
                              f"{'column' if len(missing) == 1 else 'columns'} {', '.join(repr(m) for m in missing)}")
    return {name: index[name] for name in REQUIRED + OPTIONAL if name in index}


def _records(rows) -> Iterator[list[str]]:
    for row in rows:
        if any(cell.strip() for cell in row):
            yield row


def _rpps_number(field: dict[str, str]) -> str | None:
    kind = field.get(ID_TYPE, RPPS_TYPE)
    if kind and kind != RPPS_TYPE:
        return None
    if _RPPS.fullmatch(field[ID_PP]):
        return field[ID_PP]
    national = field.get(ID_NATIONAL, "")
    if national.startswith(RPPS_TYPE) and _RPPS.fullmatch(national[1:]):
        return national[1:]
    return None


def _entry(rpps: str, field: dict[str, str]) -> DirectoryEntry:
    title = _TITLES.get(field.get(TITLE_CODE, "").upper(), "")
    given, family = field[GIVEN_NAME], field[FAMILY_NAME]
    name = " ".join(part for part in (title, given, family) if part)
    return DirectoryEntry(
        id=rpps, kind="person", name=name or rpps, title=title, family_name=family, given_name=given,
        profession=field[PROFESSION], specialty=field.get(SPECIALTY, ""),
        organisation=field.get(ORGANISATION, "") or field.get(SHOP_SIGN, ""),
        town=field.get(TOWN, ""), town_code=field.get(TOWN_CODE, ""))


def _merge(first: DirectoryEntry | None, more: DirectoryEntry) -> DirectoryEntry:
    """One person, several rows: keep the first row's values, fill the blanks from later rows."""
    if first is None:
        return more
    blanks = {name: getattr(more, name) for name in ("specialty", "organisation", "town", "town_code")
              if not getattr(first, name)}
    return replace(first, **blanks)
