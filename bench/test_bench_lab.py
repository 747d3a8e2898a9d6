"""Lab parsing and generation speed: reports parsed per second for each format, messages generated per second.

    .venv/bin/python -m pytest bench/test_bench_lab.py --benchmark-only

Each round parses FILES generated files of one format and encoding (about
ten results per report, a few files holding two patients); reports/s is in
the benchmark's extra_info and in bench/RESULTS.md.
"""
import email
import email.policy
from pathlib import Path

import pytest

from pli.core.lab import hl7v2, hprim, parse_reports, reports_in_bytes, reports_in_mail
from pli.core.lab.generator import Generator

FILES = 500


def sample(fmt: str, encoding: str):
    return list(Generator(2026, patients=200, formats=[fmt], encodings=[encoding]).messages(FILES))


@pytest.mark.parametrize("fmt, encoding", [("hprim", "iso-8859-1"), ("hprim", "utf-8"),
                                           ("hl7", "utf-8"), ("hl7", "iso-8859-1")])
def test_parse_reports_per_second(benchmark, fmt, encoding):
    messages = sample(fmt, encoding)
    payloads = [m.payload for m in messages]
    count = sum(len(m.reports) for m in messages)

    def parse_all():
        return sum(len(parse_reports(p)) for p in payloads)

    assert benchmark(parse_all) == count
    benchmark.extra_info["reports_per_second"] = round(count / benchmark.stats.stats.mean)


def test_peer_python_hl7_package_split_only(benchmark):
    """The peer: python-hl7 only splitting the same HL7 files (no model, no unescape).

    pli's HL7 reader splits fields itself because this alone costs several times
    its whole parse (see core/lab/hl7v2.py).
    """
    import hl7

    texts = [m.payload.decode("utf-8") for m in sample("hl7", "utf-8")]
    messages = [one for text in texts for one in hl7.split_file(text)]
    count = len(messages)
    benchmark(lambda: [hl7.parse(one) for one in messages])
    benchmark.extra_info["messages_per_second"] = round(count / benchmark.stats.stats.mean)


@pytest.mark.parametrize("fmt", ["hprim", "hl7"])
def test_reports_in_mail_per_second(benchmark, fmt):
    messages = sample(fmt, "utf-8")
    mails = [email.message_from_bytes(m.inner_bytes, policy=email.policy.default) for m in messages]
    count = sum(len(m.reports) for m in messages)
    assert benchmark(lambda: sum(len(reports_in_mail(m)) for m in mails)) == count
    benchmark.extra_info["reports_per_second"] = round(count / benchmark.stats.stats.mean)


@pytest.mark.parametrize("fmt", ["hprim", "hl7"])
def test_reports_in_bytes_per_second(benchmark, fmt):
    """From the inner message's bytes (MIME parsing included), as the store's import does it."""
    messages = sample(fmt, "utf-8")
    count = sum(len(m.reports) for m in messages)
    raws = [m.inner_bytes for m in messages]
    assert benchmark(lambda: sum(len(reports_in_bytes(raw)) for raw in raws)) == count
    benchmark.extra_info["reports_per_second"] = round(count / benchmark.stats.stats.mean)


@pytest.mark.parametrize("fmt, writer", [("hprim", hprim.dumps), ("hl7", hl7v2.dumps)])
def test_write_reports_per_second(benchmark, fmt, writer):
    reports = [list(m.reports) for m in sample(fmt, "utf-8")]
    benchmark(lambda: [writer(r) for r in reports])
    benchmark.extra_info["reports_per_second"] = round(sum(map(len, reports)) / benchmark.stats.stats.mean)


def test_generate_messages_per_second(benchmark):
    """Reports, lab files and inner MIME bytes: what the demo builder and the store benchmarks consume."""
    def generate():
        return sum(len(m.inner_bytes) > 0 for m in Generator(1, patients=500).messages(2000))

    assert benchmark.pedantic(generate, rounds=3, iterations=1) == 2000
    benchmark.extra_info["messages_per_second"] = round(2000 / benchmark.stats.stats.mean)


WILD = sorted((Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "lab-wild").glob("[hl]*"))


def test_parse_wild_corpus_per_second(benchmark):
    """The lab-wild corpus (tests/fixtures/lab-wild): files as labs send them, every tolerance path taken."""
    payloads = [p.read_bytes() for p in WILD]
    count = sum(len(parse_reports(p)) for p in payloads)
    assert benchmark(lambda: sum(len(parse_reports(p)) for p in payloads)) == count
    benchmark.extra_info["reports_per_second"] = round(count / benchmark.stats.stats.mean)
    benchmark.extra_info["kib_per_second"] = round(sum(map(len, payloads)) / 1024 / benchmark.stats.stats.mean)


@pytest.mark.parametrize("fmt", ["hprim", "hl7"])
def test_seconds_per_100_kib(benchmark, fmt):
    """The target is a second per 100 KiB at most (issue 18); a file of 100 KiB of wild reports of one format."""
    samples = [p.read_bytes() for p in WILD if p.name[0] == ("h" if fmt == "hprim" else "l")
               and not p.name.startswith(("h19", "h27"))]   # UTF-16 and a truncated file do not concatenate
    data = b"".join(samples)
    data = data * (102400 // len(data) + 1)
    benchmark.pedantic(lambda: parse_reports(data), rounds=5, iterations=1)
    benchmark.extra_info["seconds_per_100_kib"] = round(benchmark.stats.stats.mean * 102400 / len(data), 4)
