"""The ANS MSSanté mailbox extract: its real header (31 columns), invented rows, read as a stream.

The header is the one published by the ANS, as the open projects reading it
record it (github.com/flrt/ref-rpps-ne KEYS_MSSANTE, 2018 spelling with
"... structure BAL" address columns; a 2026 survey of the live file, see
tests/fixtures/mssante/README.md).  Every row below is invented.
"""
from __future__ import annotations

import pytest

from pli.core.directory.mssante import MssExtractError, open_extract, read_lines

HEADER_2026 = ("Type de BAL|Adresse BAL|Type Identifiant PP|Identifiant PP|Identification nationale PP|"
               "Type identifiant structure|Identification Structure|Service de rattachement|Civilité d'exercice|"
               "Nom d'exercice|Prénom d'exercice|Catégorie profession|Libellé de catégorie profession|"
               "Code Profession|Libellé Profession|Code savoir-faire|Libellé savoir-faire|Dématérialisation|"
               "Raison Sociale structure BAL|Enseigne commerciale structure BAL|L2COMPLEMENTLOCALISATION|"
               "L3COMPLEMENTDISTRIBUTION|L4NUMEROVOIE|L4COMPLEMENTNUMEROVOIE|NL4TYPEVOIE|L4LIBELLEVOIE|"
               "L5LIEUDITMENTION|L6LIGNEACHEMINEMENT|Code postal|Département|Pays")
HEADER_2018 = HEADER_2026.replace("L2COMPLEMENTLOCALISATION", "L2COMPLEMENTLOCALISATION structure BAL").replace(
    "L6LIGNEACHEMINEMENT", "L6LIGNEACHEMINEMENT structure BAL").replace("Code postal|", "Code postal structure BAL|")


def row(**values) -> str:
    columns = HEADER_2026.split("|")
    cells = [""] * len(columns)
    for name, value in values.items():
        cells[columns.index(name)] = value
    return "|".join(cells)


ROWS = [
    row(**{"Type de BAL": "PER", "Adresse BAL": "Jeanne.Exemple@cabinet.mssante.test", "Type Identifiant PP": "8",
           "Identifiant PP": "10000000456", "Identification nationale PP": "810000000456",
           "Civilité d'exercice": "DR", "Nom d'exercice": "EXEMPLE", "Prénom d'exercice": "Jeanne",
           "Code Profession": "10", "Libellé Profession": "Médecin",
           "Libellé savoir-faire": "Médecine générale", "Raison Sociale structure BAL": "Cabinet des Tilleuls",
           "L6LIGNEACHEMINEMENT": "00100 VILLE-FICTIVE", "Code postal": "00100"}),
    row(**{"Type de BAL": "PER", "Adresse BAL": "ide.essai@infirmiers.mssante.test", "Type Identifiant PP": "0",
           "Identifiant PP": "009912345", "Identification nationale PP": "0009912345",
           "Nom d'exercice": "ESSAI", "Prénom d'exercice": "Luc", "Libellé Profession": "Infirmier"}),
    row(**{"Type de BAL": "ORG", "Adresse BAL": "cardiologie@ch-fictif.mssante.test",
           "Type identifiant structure": "1", "Identification Structure": "1990000002",
           "Service de rattachement": "Cardiologie", "Raison Sociale structure BAL": "CH FICTIF"}),
    row(**{"Type de BAL": "APP", "Adresse BAL": "resultats@labo-essai.mssante.test",
           "Raison Sociale structure BAL": "Laboratoire d'essai des Tilleuls"}),
    row(**{"Type de BAL": "PER", "Adresse BAL": "not an address"}),
    "",
    "PER|court@op.mssante.test",
]


def test_each_line_is_a_mailbox_with_its_kind_holder_and_structure():
    extract = read_lines([HEADER_2026] + ROWS, "test extract")
    doctor, nurse, service, application, short = list(extract)
    assert (doctor.address, doctor.kind, doctor.kind_name, doctor.rpps) == (
        "jeanne.exemple@cabinet.mssante.test", "PER", "personal", "10000000456")
    assert (doctor.display_name, doctor.profession, doctor.specialty, doctor.organisation, doctor.postcode) == (
        "Dr Jeanne EXEMPLE", "Médecin", "Médecine générale", "Cabinet des Tilleuls", "00100")
    assert (nurse.rpps, nurse.id_type, nurse.pp_id) == ("", "0", "009912345")          # ADELI: no RPPS
    assert (service.kind_name, service.display_name, service.structure_id) == (
        "organisational", "Cardiologie - CH FICTIF", "1990000002")
    assert (application.kind_name, application.display_name) == ("application", "Laboratoire d'essai des Tilleuls")
    assert (short.address, short.display_name) == ("court@op.mssante.test", "court@op.mssante.test")
    assert (extract.rows, extract.skipped) == (6, 1)


def test_columns_are_found_by_name_in_either_published_spelling_and_any_order_or_separator():
    older = read_lines([HEADER_2018] + ROWS[:1])
    assert [m.town for m in older] == ["00100 VILLE-FICTIVE"]
    columns = HEADER_2026.split("|")
    order = list(reversed(range(len(columns))))
    shuffled_header = ";".join(columns[i] for i in order)
    shuffled_row = ";".join(ROWS[0].split("|")[i] for i in order)
    [mailbox] = list(read_lines([shuffled_header, shuffled_row]))
    assert (mailbox.address, mailbox.rpps, mailbox.family) == ("jeanne.exemple@cabinet.mssante.test",
                                                                 "10000000456", "EXEMPLE")


def test_a_file_in_utf8_with_a_bom_or_in_windows_1252_reads_the_same(tmp_path):
    text = "\n".join([HEADER_2026] + ROWS[:2]) + "\n"
    utf8 = tmp_path / "Extraction_Correspondance_MSSante_utf8.txt"
    utf8.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    legacy = tmp_path / "Extraction_Correspondance_MSSante_cp1252.txt"
    legacy.write_bytes(text.encode("cp1252"))
    read = [[(m.address, m.profession) for m in open_extract(path)] for path in (utf8, legacy)]
    assert read[0] == read[1] == [("jeanne.exemple@cabinet.mssante.test", "Médecin"),
                                  ("ide.essai@infirmiers.mssante.test", "Infirmier")]


def test_the_file_is_read_as_a_stream_not_loaded_whole():
    def lines():
        yield HEADER_2026
        for number in range(10**9):          # far more than memory would hold
            if number == 3:
                raise AssertionError("read past what was asked for")
            yield row(**{"Type de BAL": "PER", "Adresse BAL": f"p{number}@op.mssante.test"})

    assert next(iter(read_lines(lines()))).address == "p0@op.mssante.test"


def test_a_wrong_or_empty_file_is_one_clear_line(tmp_path):
    rpps = ("Type d'identifiant PP|Identifiant PP|Identification nationale PP|Nom d'exercice|Prénom d'exercice|"
            "Libellé profession")
    with pytest.raises(MssExtractError, match=r"2 columns missing, 'type de bal', 'adresse bal' \(is it the RPPS"):
        read_lines([rpps, "8|10000000456|810000000456|EXEMPLE|Jeanne|Médecin"], "PS_LibreAcces.txt")
    with pytest.raises(MssExtractError, match="is empty"):
        read_lines([], "empty.txt")
    with pytest.raises(MssExtractError, match="no '\\|' or ';'"):
        read_lines(["just some text", "more"], "notes.txt")
    with pytest.raises(MssExtractError, match="does not exist"):
        open_extract(tmp_path / "nowhere.txt")
