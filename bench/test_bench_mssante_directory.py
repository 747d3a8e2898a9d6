"""The MSSanté directory at the size of the real extract (about 500,000 mailboxes): import, open, lookup, completion.

Rows are generated (invented names and addresses) under the published header; run with `make bench`.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
from test_directory_mssante import HEADER_2026, row  # noqa: E402

from pli.core.directory.mssante_index import MssDirectory, import_extract  # noqa: E402

ROWS = 500_000
FAMILIES = ["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU"]
GIVENS = ["Jeanne", "Luc", "Émilie", "Paul", "Zoé", "Marc", "Anne", "Hugo", "Léa", "Jules"]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mss")
    rng = random.Random(16)
    path = folder / "Extraction_Correspondance_MSSante_bench.txt"
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER_2026 + "\n")
        for n in range(ROWS):
            family, given = rng.choice(FAMILIES) + f"{n % 997}", rng.choice(GIVENS)
            out.write(row(**{"Type de BAL": "PER", "Adresse BAL": f"{given.lower()}.{family.lower()}.{n}@op{n % 40}"
                                                                ".mssante.test",
                             "Type Identifiant PP": "8", "Identifiant PP": f"{10000000000 + n}",
                             "Nom d'exercice": family, "Prénom d'exercice": given}) + "\n")
    index = folder / "mss.sqlite"
    import_extract(path, index)
    return {"index": index, "extract": path}


def test_import_500k(benchmark, index, tmp_path):
    benchmark.pedantic(import_extract, args=(index["extract"], tmp_path / "again.sqlite"), rounds=1, iterations=1)


def test_open(benchmark, index):
    benchmark(lambda: MssDirectory(index["index"]).close())


def test_lookup(benchmark, index):
    directory = MssDirectory(index["index"])
    result = benchmark(directory.lookup, "jeanne.martin5.250005@op5.mssante.test")
    assert result is None or result.kind == "PER"


def test_complete_name_prefix(benchmark, index):
    directory = MssDirectory(index["index"])
    assert benchmark(directory.complete, "dura")
