"""The public MSSanté mailbox extract of the ANS ("Extraction_Correspondance_MSSante"), read as a stream.

    extract = open_extract("Extraction_Correspondance_MSSante_202603021013.txt")   # the header is checked here
    for mailbox in extract:                   # MssMailbox, one per line, never the whole file in memory
        mailbox.address, mailbox.kind         # "dr.martin@op.mssante.fr", "PER" (personal) / "ORG" / "APP"
        mailbox.rpps, mailbox.display_name    # "10001234567", "Dr Jeanne MARTIN"
    extract.rows, extract.skipped             # counted as the stream goes

The extract is published on annuaire.sante.fr (and data.gouv.fr) as one text
file: UTF-8 (older ones Windows-1252), a header line, `|` between fields
(`;` is accepted too), about half a million lines, 31 columns: Type de BAL,
Adresse BAL, Type Identifiant PP, Identifiant PP, Identification nationale PP,
Type identifiant structure, Identification Structure, Service de
rattachement, Civilité d'exercice, Nom d'exercice, Prénom d'exercice,
Catégorie profession, Libellé de catégorie profession, Code Profession,
Libellé Profession, Code savoir-faire, Libellé savoir-faire,
Dématérialisation, Raison Sociale structure BAL, Enseigne commerciale
structure BAL, the address lines L2..L6 of the structure, Code postal,
Département, Pays.  Columns are found by name (accents, case and spacing
aside), never by position, so a reordered or extended extract still reads;
only "Type de BAL" and "Adresse BAL" are required.  A line without a usable
address is counted in `skipped`, never fatal: one bad line must not stop the
import of half a million good ones.
"""
from __future__ import annotations

import csv
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pli.core.errors import PliError
from pli.core.plural import counted

KINDS = {"PER": "personal", "ORG": "organisational", "APP": "application"}
_ADDRESS = re.compile(r"[^@\s<>|;]+@[^@\s<>|;]+\.[^@\s<>|;]+")
_RPPS = re.compile(r"\d{11}")
# Our names for the columns, by their normalised header names (several spellings seen in published extracts).
_COLUMNS = {
    "kind": ("type de bal", "type bal"),
    "address": ("adresse bal",),
    "id_type": ("type identifiant pp", "type d identifiant pp"),
    "pp_id": ("identifiant pp",),
    "national_id": ("identification nationale pp",),
    "structure_id_type": ("type identifiant structure",),
    "structure_id": ("identification structure",),
    "service": ("service de rattachement",),
    "title": ("civilite d exercice",),
    "family": ("nom d exercice",),
    "given": ("prenom d exercice",),
    "profession_code": ("code profession",),
    "profession": ("libelle profession",),
    "specialty": ("libelle savoir faire",),
    "organisation": ("raison sociale structure bal",),
    "shop_sign": ("enseigne commerciale structure bal",),
    "postcode": ("code postal", "code postal structure bal"),
    "town": ("l6ligneacheminement", "l6ligneacheminement structure bal"),
}
_REQUIRED = ("kind", "address")
_TITLES = {"DR": "Dr", "PR": "Pr", "M": "M.", "MME": "Mme"}


class MssExtractError(PliError):
    """The file is not an MSSanté extract pli can read (missing, empty, or without the required columns)."""

    exit_code = 1                # a bad file (docs/CLI.md's exit codes), not the home's configuration


@dataclass(frozen=True, slots=True)
class MssMailbox:
    address: str                 # lower case
    kind: str                    # PER, ORG, APP as written
    id_type: str = ""            # Type Identifiant PP: "8" RPPS, "0" ADELI...
    pp_id: str = ""
    national_id: str = ""        # Identification nationale PP: the type digit then the id
    structure_id_type: str = ""
    structure_id: str = ""
    service: str = ""
    title: str = ""
    family: str = ""
    given: str = ""
    profession_code: str = ""
    profession: str = ""
    specialty: str = ""
    organisation: str = ""
    postcode: str = ""
    town: str = ""

    @property
    def rpps(self) -> str:
        """The RPPS number of a personal mailbox's holder, when the extract gives one."""
        if self.id_type == "8" and _RPPS.fullmatch(self.pp_id):
            return self.pp_id
        national = self.national_id
        return national[1:] if national.startswith("8") and _RPPS.fullmatch(national[1:]) else ""

    @property
    def kind_name(self) -> str:
        return KINDS.get(self.kind, self.kind.lower() or "unknown")

    @property
    def display_name(self) -> str:
        """'Dr Jeanne MARTIN' for a person; the service and structure for an organisational mailbox."""
        title = _TITLES.get(self.title.upper().rstrip("."), self.title)
        person = " ".join(p for p in (title, self.given, self.family.upper()) if p and (self.family or self.given))
        place = " - ".join(p for p in (self.service, self.organisation) if p)
        return person or place or self.address


class MssExtract:
    """An open extract: the header read and checked; the lines read as the iteration goes (once)."""

    def __init__(self, lines: Iterator[str], source: str) -> None:
        self._lines = lines
        self.source = source
        self.rows = 0
        self.skipped = 0
        header = next(lines, None)
        if header is None or not header.strip():
            raise MssExtractError(f"{source} is empty")
        self.delimiter = "|" if "|" in header else ";" if ";" in header else ""
        if not self.delimiter:
            raise MssExtractError(f"{source} is not an MSSanté extract: its first line has no '|' or ';' "
                                  "between column names")
        self._columns = _columns(header.rstrip("\r\n").split(self.delimiter), source)

    def __iter__(self) -> Iterator[MssMailbox]:
        index = self._columns
        names = [name for name in index if name not in ("address", "kind", "organisation", "shop_sign")]
        positions = [index[name] for name in names]
        width = max(index.values()) + 1
        address_at, kind_at = index["address"], index["kind"]
        organisation_at, sign_at = index.get("organisation"), index.get("shop_sign")
        for row in csv.reader(self._lines, delimiter=self.delimiter, quoting=csv.QUOTE_NONE, strict=False):
            if len(row) < width:
                if not any(cell.strip() for cell in row):
                    continue
                row += [""] * (width - len(row))
            self.rows += 1
            address, kind = row[address_at].strip().lower(), row[kind_at].strip().upper()
            if not kind or not _ADDRESS.fullmatch(address):
                self.skipped += 1
                continue
            organisation = (row[organisation_at].strip() if organisation_at is not None else "") or \
                (row[sign_at].strip() if sign_at is not None else "")
            yield MssMailbox(address, kind, organisation=organisation,
                             **{name: row[i].strip() for name, i in zip(names, positions)})


def open_extract(path: str | os.PathLike) -> MssExtract:
    """The extract at `path` (a .txt as published), ready to iterate; MssExtractError if it is not one."""
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        raise MssExtractError(f"{path} does not exist") from None
    except OSError as error:
        raise MssExtractError(f"cannot read {path} ({error.strerror or error})") from None
    return MssExtract(_decoded_lines(stream), str(path))


def read_lines(lines: Iterable[str], source: str = "the MSSanté extract") -> MssExtract:
    """An extract from text lines already decoded (tests, a file inside a zip)."""
    return MssExtract(iter(lines), source)


def _decoded_lines(stream) -> Iterator[str]:
    """Each line as text: UTF-8 (the BOM dropped), or Windows-1252 for a line that is not UTF-8."""
    with stream:
        first = True
        for raw in stream:
            if first:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
                first = False
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                yield raw.decode("cp1252", "replace")


def _columns(header: list[str], source: str) -> dict[str, int]:
    positions = {_normal(name): i for i, name in reversed(list(enumerate(header)))}
    found = {}
    for ours, spellings in _COLUMNS.items():
        for spelling in spellings:
            if spelling in positions:
                found[ours] = positions[spelling]
                break
    missing = [_COLUMNS[name][0] for name in _REQUIRED if name not in found]
    if missing:
        raise MssExtractError(f"{source} is not an MSSanté extract: {counted(len(missing), 'column')} missing, "
                              f"{', '.join(repr(m) for m in missing)} (is it the RPPS extract?)")
    return found


def _normal(name: str) -> str:
    """'Libellé  Profession' -> 'libelle profession'; "Nom d'exercice" -> 'nom d exercice'."""
    ascii_name = unicodedata.normalize("NFKD", name.strip().lstrip("\ufeff")).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", ascii_name.lower()).split())
