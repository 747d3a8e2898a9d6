"""Dropping HPRIM files for the medical software: atomic, named to be picked up, never overwriting."""
import os

import pytest

from pli.core.errors import ConfigError
from pli.core.lab.generator import generate
from pli.core.lab.hprim import parse
from pli.core.lab.hprim_export import drop, file_name, load_config

REPORTS = [r for m in generate(6, seed=21) for r in m.reports]


def test_one_file_per_report_that_reads_back(tmp_path):
    paths = drop(REPORTS, tmp_path / "in")
    assert len(paths) == len(REPORTS)
    for path, report in zip(paths, REPORTS):
        assert path.suffix == ".hpr" and path.name.isascii() and " " not in path.name
        back, = parse(path.read_bytes())
        assert back.patient.key == report.patient.key and len(back.observations) == len(report.observations)
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == sorted(p.name for p in paths)  # no leftovers


def test_a_second_export_gets_a_new_name(tmp_path):
    first, = drop(REPORTS[:1], tmp_path)
    before = first.read_bytes()
    second, = drop(REPORTS[:1], tmp_path)
    assert second != first and second.name == first.name.replace(".hpr", "-2.hpr")
    assert first.read_bytes() == before


def test_names_carry_patient_date_and_reference():
    name = file_name(REPORTS[0])
    patient = REPORTS[0].patient
    assert name.startswith(patient.last_name.lower().split("-")[0])
    assert f"{REPORTS[0].collected:%Y%m%d}" in name


def test_latin1_by_default(tmp_path):
    report = next(r for r in REPORTS if r.text and not r.text.isascii())
    data = drop([report], tmp_path)[0].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert report.text.split("\n")[0].encode("latin-1") in data


def test_config_section(tmp_path):
    config = tmp_path / "config.toml"
    assert load_config(config).folder is None
    config.write_text('[lab]\nhprim_folder = "~/hprim-in"\nhprim_encoding = "utf-8"\n', encoding="utf-8")
    loaded = load_config(config)
    assert (str(loaded.folder), loaded.encoding) == (os.path.expanduser("~/hprim-in"), "utf-8")
    config.write_text("[lab]\nhprim_folder = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(config)
