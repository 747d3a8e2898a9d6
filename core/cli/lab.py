"""`pli lab show|export|generate`: read lab reports from a file or a message, export them, make samples.

`pli lab export --query QUERY -o FOLDER` exports the reports of every stored
message matching QUERY into a folder, as the TUI's export dialog does (the same
pli.core.lab.export_folder, the same summary, the same signed "exported" steps).
"""
from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pli.core.cli.common import add_actions, add_output, message_id_arg, report_to, write_report
from pli.core.errors import PliError, UsageError
from pli.core.home import Home
from pli.core.plural import counted

_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9-]*:[ \t]")
NAMED_UNREADABLE = 5   # unreadable messages named in an export's summary line; the rest are counted
EXIT_STOPPED = 130     # stopped with Ctrl-C, as an interrupted command


class NothingMatches(PliError):
    """A query selects no stored message: there is nothing to export."""


class TraceNotWritten(PliError):
    """Report files were exported, but their "exported" steps could not be written to the trace."""


def register(sub) -> None:
    p = sub.add_parser("lab", help="lab results: show a report, export it (FHIR, HPRIM), generate samples")
    cmds = add_actions(p, "lab")

    show = cmds.add_parser("show", help="print a lab report as a table, abnormal values marked")
    show.add_argument("source", metavar="FILE|MESSAGE", help="an HPRIM or HL7 file, or a message (.eml)")
    show.add_argument("-c", "--critical-first", action="store_true", help="critical, then abnormal results first")
    show.add_argument("--text", action="store_true", help="also print the lab's free text (HPRIM)")
    show.add_argument("--colour", "--color", choices=("auto", "always", "never"), default="auto",
                      help="colour abnormal rows (default: when stdout is a terminal and NO_COLOR is unset)")
    add_output(show)
    show.set_defaults(func=run_show)

    export = cmds.add_parser("export", help="export reports for the medical record (FHIR R4 JSON or HPRIM): "
                                            "a file's or a message's, or a query's into a folder")
    kind = export.add_mutually_exclusive_group(required=True)
    kind.add_argument("--fhir", action="store_const", const="fhir", dest="format", help="a FHIR R4 Bundle (JSON)")
    kind.add_argument("--hprim", action="store_const", const="hprim", dest="format", help="an HPRIM file")
    export.add_argument("source", metavar="FILE|MESSAGE", nargs="?",
                        help="an HPRIM or HL7 file, or a message (.eml or a stored message's id)")
    export.add_argument("--query", metavar="QUERY",
                        help="instead of FILE|MESSAGE: every stored message matching QUERY (notmuch syntax "
                             "plus `pli search`'s shortcuts), one file per report into the folder -o FOLDER")
    export.add_argument("-o", "--output", type=Path, metavar="PATH",
                        help="write here instead of stdout; with --hprim, a folder gets one file per report, "
                             "written atomically under a name medical software picks up; with --query, "
                             "the folder (created if missing; no file is ever replaced)")
    export.add_argument("--drop", action="store_true",
                        help="with --hprim: drop into [lab] hprim_folder of config.toml")
    export.add_argument("--quiet", action="store_true", help="with --query: no progress, only the summary")
    export.set_defaults(func=run_export)

    gen = cmds.add_parser("generate", help="write generated (invented) lab reports, for trying pli out")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--count", type=int, default=10)
    gen.add_argument("--format", choices=("hprim", "hl7"), action="append",
                     help="only this format (default: both); may be repeated")
    gen.add_argument("--encoding", choices=("iso-8859-1", "utf-8"), action="append",
                     help="only this encoding (default: both); may be repeated")
    gen.add_argument("--patients", type=int, default=50, help="how many invented patients (default: 50)")
    gen.add_argument("--eml", action="store_true", help="also write each lab's mail (.eml) next to its file")
    gen.add_argument("-o", "--output", type=Path, default=Path("lab-samples"), metavar="DIR",
                     help="where to write (default: ./lab-samples)")
    gen.set_defaults(func=run_generate)


def load(source: str, home: Home) -> tuple[list, list]:
    """(reports, their History) for a FILE|MESSAGE argument: a lab file, a message file (.eml), or a
    stored message's id, whose history says which results later reports of the same order replaced
    (a file has none: NO_HISTORY).  The one place the argument is resolved."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.lab import parse_reports, reports_in_mail
    from pli.core.lab.corrections import NO_HISTORY

    path = Path(source).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _load_stored(source, home)
    except IsADirectoryError:
        raise UsageError(f"{source} is a folder; give a lab file or a message") from None
    except OSError as error:
        raise PliError(f"cannot read {source}: {error.strerror}") from None
    if not _is_message(path, data):
        reports = parse_reports(data)
    else:
        reports = reports_in_mail(email.message_from_bytes(data, policy=email.policy.default))
    if not reports:
        raise PliError(f"{source} holds no lab report (no HPRIM or HL7 attachment or text)")
    return reports, [NO_HISTORY] * len(reports)


def _load_stored(source: str, home: Home) -> tuple[list, list]:
    """A message id of the store (`pli search` prints them), with its order history."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.store.layout import Layout
    from pli.core.store.store import MessageNotFound, Store

    message_id = message_id_arg(source.strip())
    if not message_id or not Layout(home).exists():
        raise UsageError(f"no such file or stored message: {source}")
    try:
        with Store.open(home) as store:
            reports, histories = store.lab_reports(message_id)
    except MessageNotFound:
        raise UsageError(f"no such file or stored message: {source}") from None
    if not reports:
        raise PliError(f"{source} holds no lab report (no HPRIM or HL7 attachment or text)")
    return reports, histories


def _is_message(path: Path, data: bytes) -> bool:
    if path.suffix.lower() == ".eml":
        return True
    head = data[:8192]
    return bool(_HEADER_LINE.match(head)) and re.search(rb"(?im)^content-type:", head) is not None


def _use_colour(choice: str, out) -> bool:
    if choice != "auto":
        return choice == "always"
    return out.isatty() and not os.environ.get("NO_COLOR")


def run_show(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.lab.render import render_all

    reports, histories = load(args.source, Home.resolve(args.home))
    with report_to(args) as out:
        print(render_all(reports, colour=_use_colour(args.colour, out), critical_first=args.critical_first,
                         with_text=args.text, histories=histories), file=out)
    return 0


def run_export(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.lab import hprim_export
    from pli.core.lab.export import export_reports

    if args.query is not None:
        return run_export_query(args)
    if args.source is None:
        raise UsageError("what to export? give a FILE|MESSAGE, or --query QUERY -o FOLDER")
    if args.quiet:
        raise UsageError("--quiet goes with --query")
    home = Home.resolve(args.home)
    reports = current_reports(*load(args.source, home))
    if args.drop and args.format != "hprim":
        raise UsageError("--drop goes with --hprim")
    if args.format == "hprim" and (args.drop or (args.output and args.output.is_dir())):
        config = hprim_export.load_config(home.config)
        folder = args.output if args.output else config.folder
        if folder is None:
            raise UsageError(f"no [lab] hprim_folder in {home.config}; give -o FOLDER")
        for path in hprim_export.drop(reports, folder, config.encoding):
            print(path)
        return 0
    write_report(args, export_reports(reports, args.format))     # -o: atomically, 0600 (patient data)
    return 0


def current_reports(reports: list, histories: list) -> list:
    """What an export writes: the reports, whose results a later report of their order replaced are
    marked superseded (the exports leave them out; said on stderr); a report all of whose results
    were replaced is left out."""
    kept = []
    for report, history in zip(reports, histories):
        if history.replaced:
            print(f"pli: {counted(len(history.replaced), 'result')} of {report.patient.display}'s report "
                  f"{report.reference} replaced by a later report of the same order: not exported",
                  file=sys.stderr)
        if report.current or not report.observations:
            kept.append(report)
    if not kept:
        raise PliError("every result of this message was replaced by a later report of the same order; "
                       "export that report (`pli search` finds it: tag:supersedes)")
    return kept


def run_export_query(args) -> int:
    """`pli lab export --query QUERY -o FOLDER`: the reports of the matching stored messages, traced."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock
    from pli.core.store import Store

    folder = _query_folder(args)
    home = Home.resolve(args.home)
    with Store.open(home) as store:  # read-only: the export changes no tag
        ids = store.message_ids(args.query)
        if not ids:
            raise NothingMatches(f"no stored message matches {args.query!r}: nothing to export; "
                                 "try the query with `pli search` first")
        keyring = unlock(home)  # before any file is written: each exported file gets its signed step
        with _stop_on_interrupt() as stop:
            result, failure = _export(store, ids, args.format, folder, args.quiet, stop)
            trace_problem = _trace_exported(home, keyring, store, result, args.format)
    return _outcome(result, failure, trace_problem, args.format, folder)


def _query_folder(args) -> Path:
    if args.source is not None:
        raise UsageError("give FILE|MESSAGE or --query QUERY, not both")
    if args.drop:
        raise UsageError("--drop exports one report; with --query give the folder as -o FOLDER")
    if args.output is None:
        raise UsageError("--query exports one file per report into a folder: give -o FOLDER")
    return args.output.expanduser()


@contextmanager
def _stop_on_interrupt() -> Iterator[threading.Event]:
    """Ctrl-C sets the event instead of interrupting: the export stops after the message in
    hand and what it wrote is still traced (the trace's write is not cut either)."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _export(store, ids: list[str], fmt: str, folder: Path, quiet: bool, stop: threading.Event):
    """(what the export did, the folder error that ended it or None): the files written stay either way."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.lab.export_folder import ExportFolderError, export_to_folder
    from pli.core.store.progress import Progress

    progress = Progress.for_stream(sys.stderr, quiet=quiet, verb="exported")
    progress.start(len(ids))
    try:
        return export_to_folder(store, ids, fmt, folder, progress=lambda done, total: progress.advance(1),
                                stopped=stop.is_set), None
    except ExportFolderError as error:
        return error.partial, error
    finally:
        progress.finish()


def _trace_exported(home: Home, keyring, store, result, fmt: str) -> str | None:
    """One signed "exported" step per message whose reports are in the folder, as the TUI writes
    them; None when written, else the problem, for the person at the keyboard."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.store.trace_steps import TraceBatch, record_batch

    if not result.message_ids:
        return None
    try:
        left_out = record_batch(home, keyring, store, TraceBatch("exported", tuple(result.message_ids),
                                                                 {"target": fmt}))
    except (PliError, OSError) as error:
        why = str(error) if isinstance(error, PliError) else error.strerror or type(error).__name__
        return (f"the exported steps of {counted(len(result.message_ids), 'message')} could not be written to the "
                f"trace ({why}); the files stay; check with `pli audit verify`")
    if left_out:
        print(f"pli: not traced (exported): {counted(left_out, 'message')} with an id the trace cannot hold",
              file=sys.stderr)
    return None


def _outcome(result, failure, trace_problem: str | None, fmt: str, folder: Path) -> int:
    """Say what the export did in one line, then the exit status (or the error that ended it)."""
    if failure is not None:
        message = str(failure)
        if result.files:
            message += f" ({counted(result.files, 'report')} written before stay there)"
        raise type(failure)(message + (f"; {trace_problem}" if trace_problem else ""), result)
    print(result.summary(fmt, folder, named=NAMED_UNREADABLE))     # the report: -o names the folder
    if trace_problem:
        raise TraceNotWritten(trace_problem)
    if result.stopped:
        return EXIT_STOPPED
    return 1 if result.unreadable else 0


def run_generate(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.lab.generator import ENCODINGS, FORMATS, Generator

    if args.count < 1 or args.patients < 1:
        raise UsageError("--count and --patients must be at least 1")
    generator = Generator(args.seed, patients=args.patients, formats=args.format or FORMATS,
                          encodings=args.encoding or ENCODINGS)
    args.output.mkdir(parents=True, exist_ok=True)
    for message in generator.messages(args.count):
        (args.output / message.filename).write_bytes(message.payload)
        if args.eml:
            (args.output / f"{Path(message.filename).stem}.eml").write_bytes(message.inner_bytes)
    print(f"wrote {counted(args.count, 'generated lab report file')} to {args.output}/ "
          f"(invented patients, seed {args.seed})")
    return 0
