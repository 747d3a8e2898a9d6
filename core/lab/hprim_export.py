"""Dropping HPRIM files into the folder the medical software watches, atomically.

Medical software imports every `*.hpr` file that appears in its folder, often
the instant it appears: a half-written file would be imported half.  So the
file is written under a hidden temporary name the software ignores (".name.hpr.<pid>.<random>.tmp"),
flushed to disk, then linked into place in one step (pli.core.durable.write_new).  An existing file is
never overwritten: a second export of the same report gets a "-2" suffix.

    [lab]
    hprim_folder = "~/Medical/HPRIM-in"      # where `pli lab export --hprim` drops files by default
    hprim_encoding = "iso-8859-1"             # what most medical software expects
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pli.core.config import config_section
from pli.core.durable import write_new
from pli.core.errors import ConfigError
from pli.core.lab import hprim
from pli.core.lab.model import Report, slug

SUFFIX = ".hpr"


@dataclass(frozen=True)
class HprimDropConfig:
    folder: Path | None = None
    encoding: str = "iso-8859-1"


def load_config(path: Path) -> HprimDropConfig:
    """The [lab] section of config.toml (defaults when the file or the section is missing)."""
    section = config_section(path, "lab")
    folder = section.get("hprim_folder")
    encoding = section.get("hprim_encoding", "iso-8859-1")
    if folder is not None and not isinstance(folder, str) or not isinstance(encoding, str):
        raise ConfigError(f"{path}: [lab] hprim_folder and hprim_encoding must be strings")
    return HprimDropConfig(Path(folder).expanduser() if folder else None, encoding)


def file_name(report: Report) -> str:
    """'fictif-zoe_20240102_r240101.hpr': patient, specimen date, lab reference; ascii, no spaces."""
    when = report.collected.strftime("%Y%m%d") if report.collected else "nodate"
    parts = [slug(f"{report.patient.last_name} {report.patient.first_name}") or "patient", when]
    if report.reference:
        parts.append(slug(report.reference))
    return "_".join(parts)[:120] + SUFFIX


def drop(reports: list[Report], folder: Path, encoding: str = "iso-8859-1") -> list[Path]:
    """Write one HPRIM file per report into `folder`, each atomically; returns the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    return [_write_new(folder, file_name(report), hprim.dumps([report], encoding)) for report in reports]


def _write_new(folder: Path, name: str, data: bytes) -> Path:
    stem = name[: -len(SUFFIX)]
    for attempt in range(1, 1000):
        target = folder / (name if attempt == 1 else f"{stem}-{attempt}{SUFFIX}")
        # temp file, fsync, link: atomic, never overwrites an export; 0600: patient data
        # (medical software reading the folder as another account needs the user's group ACL)
        if write_new(target, data):
            return target
    raise ConfigError(f"too many files named {stem}*{SUFFIX} in {folder}: clear the folder")
