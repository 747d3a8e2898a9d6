"""Exporting the lab reports of many stored messages into a folder: one file per report, none ever lost.

    export_to_folder(store, message_ids, "fhir", folder, progress=..., stopped=...)

What the TUI's export dialog runs (in a thread: thousands of messages take a
while).  Each message is read from the store and its reports parsed by the
byte path the importer uses (reports_in_bytes); each report becomes one file,
FHIR R4 JSON (".json") or HPRIM (".hpr"), named after the message:
"<message id, letters and digits, 60 at most>-<report number><suffix>".

No file is ever replaced, and a re-export does not pile up copies:
- a name that is free gets the report (written atomically, mode 0600: it is patient data);
- a name holding the same bytes already has this report (a second export into the
  same folder, or an export stopped and started again): it is counted as already
  there and not written again, so the medical software does not import it twice
  (an export is deterministic: the same report always gives the same bytes);
- a name holding other bytes (an edited file, another message whose id starts with
  the same 60 characters) is left alone and the next name is tried:
  "<stem>-1-2.json", "<stem>-1-3.json"...
A message that has no lab report, or that cannot be read or parsed, is listed in
the result so the user is told, never skipped in silence.

Only current values are exported: a result a later report of the same order
replaced (pli.core.lab.corrections, read through Store.lab_reports) is left
out of the earlier message's file and counted in the summary, and a report
all of whose results were replaced gets no file (its message is named as
superseded): the medical record gets the correction, never the value it corrects.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pli.core.durable import write_new
from pli.core.errors import PliError
from pli.core.lab.export import FORMATS, export_reports
from pli.core.plural import counted

STEM_CHARS = 60          # message ids can be 200+ characters: file names stay readable
MAX_NAMES = 1000         # names tried per report before giving up (a folder that is a mess)

Progress = Callable[[int, int], None]   # (messages done, messages in all)


class ExportFolderError(PliError):
    """The folder cannot take the export (not writable, disk full, too many clashing names).

    `partial` says what was written before the error: those files stay.
    """

    def __init__(self, message: str, partial: "FolderExport"):
        super().__init__(message)
        self.partial = partial


@dataclass(frozen=True)
class Skipped:
    message_id: str
    reason: str              # for the person at the keyboard; never quotes the message


@dataclass
class FolderExport:
    """What an export put in the folder, and what it could not."""

    written: list[Path] = field(default_factory=list)      # files created by this export
    already: list[Path] = field(default_factory=list)      # reports found there with the same bytes
    message_ids: list[str] = field(default_factory=list)   # messages whose reports are in the folder
    without_report: list[str] = field(default_factory=list)
    unreadable: list[Skipped] = field(default_factory=list)
    replaced: int = 0                                       # results left out: a later report replaced them
    superseded: list[str] = field(default_factory=list)     # messages every result of which was replaced
    stopped: bool = False                                   # the user stopped it before the end

    @property
    def files(self) -> int:
        return len(self.written)

    def summary(self, fmt: str, folder: Path, named: int = 0) -> str:
        """One line saying what the export did: written, already there, and what was left out and why
        (the first `named` unreadable messages by id, with their reason)."""
        if self.stopped:
            parts = [f"export stopped: {counted(self.files, 'report')} written to {folder} stay there"]
        else:
            parts = [f"exported {counted(self.files, 'report')} as {fmt.upper()} to {folder}"]
        if self.already:
            parts.append(f"{len(self.already):,} already there (not copied again)")
        if self.without_report:
            parts.append(counted(len(self.without_report), "message without a lab report",
                                 "messages without a lab report"))
        if self.replaced:
            parts.append(counted(self.replaced, "result replaced by a later report left out",
                                 "results replaced by a later report left out")
                         + (f" ({counted(len(self.superseded), 'message')} wholly superseded)"
                            if self.superseded else ""))
        if self.unreadable:
            parts.append(f"{counted(len(self.unreadable), 'message')} could not be read"
                         + _named(self.unreadable, named))
        return "; ".join(parts)


def _named(skipped: list[Skipped], named: int) -> str:
    if named <= 0:
        return ""
    shown = ", ".join(f"{s.message_id} ({s.reason})" for s in skipped[:named])
    more = len(skipped) - named
    return f": {shown}" + (f" and {more:,} more" if more > 0 else "")


def export_to_folder(store, message_ids: Iterable[str], fmt: str, folder: Path, *,
                     progress: Progress | None = None,
                     stopped: Callable[[], bool] | None = None) -> FolderExport:
    """Write one file per report of each message into `folder` (created if missing).

    `store` is a pli.core.store.Store (only read_clear is used); `progress(done, total)`
    is called after each message; when `stopped()` turns true the export ends after the
    message in hand (the files written stay, and the result says stopped).  Raises
    ExportFolderError when the folder cannot be written, with what was written so far.
    """
    ids = list(dict.fromkeys(message_ids))
    if fmt not in FORMATS:
        export_reports([], fmt)  # raises the UsageError naming the formats
    result = FolderExport()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _folder_error(folder, error, result) from None
    for done, message_id in enumerate(ids, 1):
        if stopped is not None and stopped():
            result.stopped = True
            break
        _export_message(store, message_id, fmt, folder, result)
        if progress is not None:
            progress(done, len(ids))
    return result


def _export_message(store, message_id: str, fmt: str, folder: Path, result: FolderExport) -> None:
    files = _files_of(store, message_id, fmt, result)
    if not files:
        return
    stem = file_stem(message_id)
    for number, data in enumerate(files, 1):
        try:
            path, new = place(folder, f"{stem}-{number}", FORMATS[fmt], data)
        except OSError as error:
            raise _folder_error(folder, error, result) from None
        (result.written if new else result.already).append(path)
        if not result.message_ids or result.message_ids[-1] != message_id:
            result.message_ids.append(message_id)


def _files_of(store, message_id: str, fmt: str, result: FolderExport) -> list[bytes]:
    """The export files of one message's reports; [] (and the reason in `result`) when there are none."""
    try:
        raw = store.read_clear(message_id)
    except (PliError, OSError):
        result.unreadable.append(Skipped(message_id, "cannot be read from the store; run `pli doctor`"))
        return []
    try:
        reports, histories = store.lab_reports(message_id, raw)
    except PliError as error:
        result.unreadable.append(Skipped(message_id, str(error)))
        return []
    except Exception as error:  # noqa: BLE001 - one damaged mail must not stop an export of thousands
        result.unreadable.append(Skipped(message_id, f"its lab report cannot be read ({type(error).__name__})"))
        return []
    if not reports:
        result.without_report.append(message_id)
        return []
    reports = _current(message_id, reports, histories, result)
    if not reports:
        return []
    try:
        return [export_reports([report], fmt) for report in reports]
    except PliError as error:
        result.unreadable.append(Skipped(message_id, str(error)))
    except ValueError as error:  # fhir.resources refuses a report it cannot validate
        result.unreadable.append(Skipped(message_id, f"its report cannot be converted to {fmt.upper()} "
                                                     f"({type(error).__name__})"))
    return []


def _current(message_id: str, reports: list, histories: list, result: FolderExport) -> list:
    """The reports as exported (their replaced results are marked superseded, which the exports leave
    out), counted; none of a report all of whose results were replaced."""
    kept = []
    for report, history in zip(reports, histories):
        result.replaced += len(history.replaced)
        if report.current or not report.observations:
            kept.append(report)
    if not kept:
        result.superseded.append(message_id)
    return kept


def file_stem(message_id: str) -> str:
    """The start of a message's export file names: letters and digits of its id, '_' for the rest."""
    return "".join(c if c.isalnum() else "_" for c in message_id)[:STEM_CHARS]


def place(folder: Path, stem: str, suffix: str, data: bytes) -> tuple[Path, bool]:
    """Put `data` in `folder` under the first name of "<stem><suffix>", "<stem>-2<suffix>"...
    that is free or already holds these bytes: (path, True when written now)."""
    for attempt in range(1, MAX_NAMES + 1):
        path = folder / (f"{stem}{suffix}" if attempt == 1 else f"{stem}-{attempt}{suffix}")
        if _holds(path, data):
            return path, False
        if write_new(path, data):
            return path, True
    raise OSError(0, f"{MAX_NAMES} files named {stem}*{suffix} are already there")


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except (FileNotFoundError, NotADirectoryError):
        return False


def _folder_error(folder: Path, error: OSError, partial: FolderExport) -> ExportFolderError:
    import errno

    if error.errno == errno.ENOSPC:
        what = "the disk is full; free some space or choose another folder"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        what = "it is not writable; choose a folder you can write to"
    elif error.errno == 0:
        what = f"{error.strerror}; clear the folder or choose another one"
    else:
        what = f"{error.strerror or error}; choose another folder"
    return ExportFolderError(f"cannot export to {folder}: {what}", partial)
