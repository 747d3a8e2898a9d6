"""What the trace costs: one entry per message in a bulk import (batched vs one by one), and checking it.

    .venv/bin/python -m pytest bench/test_bench_audit.py --benchmark-only

The batched figure is what the store's import pays per message; the one-by-one
figure is what a step recorded alone costs (two fsyncs).
"""
import itertools

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pli.core.audit import Journal, Step, verify
from pli.core.home import Home

BATCH = 1000
_counter = itertools.count()


@pytest.fixture
def journal(tmp_path):
    return Journal(Home(tmp_path / "home"), Ed25519PrivateKey.generate(), actor="bench@pli.test")


def test_record_many_1000_entries(benchmark, journal):
    def batch():
        start = next(_counter) * BATCH
        journal.record_many([Step("fetched", f"env-{n}", {"folder": "inbox"}) for n in range(start, start + BATCH)])
    benchmark(batch)


def test_record_one_entry(benchmark, journal):
    benchmark(lambda: journal.record("read", f"env-{next(_counter)}"))


def test_verify_10000_entries(benchmark, journal):
    journal.record_many([Step("fetched", f"env-{n}") for n in range(10_000)])
    report = benchmark(verify, journal.home)
    assert report.entries == 10_000
