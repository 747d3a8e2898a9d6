"""The MSSanté extract as an indexed SQLite file: streamed import with progress, atomic replacement, lookup,
completion by address or name, and which tier (pli-sealed or MSSanté) can reach an address.  The extract lines
are the invented rows of test_directory_mssante.py under the published 31-column header."""
from __future__ import annotations

import pytest

from pli.core.directory.mssante import MssExtractError
from pli.core.directory.mssante_index import (MSSANTE, SEALED, UNKNOWN, MssDirectory, MssDirectoryError,
                                              import_extract, reach)
from test_directory_mssante import HEADER_2026, ROWS, row


def extract_file(tmp_path, rows=ROWS, name="Extraction_Correspondance_MSSante_2026.txt"):
    path = tmp_path / name
    path.write_text("\ufeff" + "\n".join([HEADER_2026] + rows) + "\n", encoding="utf-8")
    return path


def test_the_import_stores_each_address_once_and_lookup_finds_it_whatever_the_case(tmp_path):
    twice = row(**{"Type de BAL": "PER", "Adresse BAL": "jeanne.exemple@cabinet.mssante.test",
                   "Nom d'exercice": "AUTRE"})
    seen = []
    summary = import_extract(extract_file(tmp_path, ROWS + [twice]), tmp_path / "mss.sqlite", progress=seen.append)
    assert (summary.mailboxes, summary.skipped, summary.duplicates) == (5, 1, 1)
    assert seen and seen[-1] == summary.rows
    directory = MssDirectory(tmp_path / "mss.sqlite")
    jeanne = directory.lookup(" Jeanne.EXEMPLE@cabinet.mssante.test ")
    assert (jeanne.kind, jeanne.rpps, jeanne.family, jeanne.display_name) == (
        "PER", "10000000456", "EXEMPLE", "Dr Jeanne EXEMPLE")       # the first line for an address is kept
    assert directory.lookup("cardiologie@ch-fictif.mssante.test").kind == "ORG"
    assert directory.lookup("nobody@op.mssante.test") is None and len(directory) == 5


def test_completion_by_address_or_by_name_accents_and_case_aside(tmp_path):
    import_extract(extract_file(tmp_path), tmp_path / "mss.sqlite")
    directory = MssDirectory(tmp_path / "mss.sqlite")
    assert [m.address for m in directory.complete("card")] == ["cardiologie@ch-fictif.mssante.test"]
    assert [m.address for m in directory.complete("exem")] == ["jeanne.exemple@cabinet.mssante.test"]
    assert [m.address for m in directory.complete("LUC")] == ["ide.essai@infirmiers.mssante.test"]
    assert directory.complete("") == [] and directory.complete("zzz") == []
    assert len(directory.complete("e", limit=1)) == 1


def test_a_failed_import_leaves_the_previous_directory_whole(tmp_path):
    index = tmp_path / "mss.sqlite"
    import_extract(extract_file(tmp_path), index)
    before = index.read_bytes()
    bad = tmp_path / "rpps.txt"
    bad.write_text("Identifiant PP|Nom d'exercice\n10000000456|EXEMPLE\n")
    with pytest.raises(MssExtractError, match="not an MSSanté extract"):
        import_extract(bad, index)

    def interrupted(rows):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_extract(extract_file(tmp_path, ROWS * 3000), index, progress=interrupted)
    assert index.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(MssDirectory(index)) == 5


def test_a_missing_or_damaged_directory_is_one_line(tmp_path):
    with pytest.raises(MssDirectoryError, match="import the extract first"):
        MssDirectory(tmp_path / "none.sqlite")
    (tmp_path / "junk.sqlite").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(MssDirectoryError, match="damaged"):
        MssDirectory(tmp_path / "junk.sqlite")


def test_the_seal_plan_says_pli_sealed_mssante_or_unknown(tmp_path):
    import_extract(extract_file(tmp_path), tmp_path / "mss.sqlite")
    directory = MssDirectory(tmp_path / "mss.sqlite")
    address = "Jeanne.Exemple@cabinet.mssante.test"
    assert reach(address, sealed=True, mailbox=directory.lookup(address)).tier == SEALED
    only_mss = reach(address, sealed=False, mailbox=directory.lookup(address))
    assert (only_mss.tier, only_mss.label) == (MSSANTE, "MSSanté (transport-secured)")
    assert reach("x@y.test", sealed=False, mailbox=directory.lookup("x@y.test")).tier == UNKNOWN
