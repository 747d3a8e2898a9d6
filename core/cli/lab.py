"""`pli lab show|export|generate`: read lab reports from a file or a message, export them, make samples."""
from __future__ import annotations

import email
import email.policy
import os
import re
import sys
from pathlib import Path

from pli.core.errors import PliError, UsageError
from pli.core.home import Home

_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9-]*:[ \t]")


def register(sub) -> None:
    p = sub.add_parser("lab", help="lab results: show a report, export it (FHIR, HPRIM), generate samples")
    cmds = p.add_subparsers(dest="lab_command", metavar="ACTION")

    show = cmds.add_parser("show", help="print a lab report as a table, abnormal values marked")
    show.add_argument("source", metavar="FILE|MESSAGE", help="an HPRIM or HL7 file, or a message (.eml)")
    show.add_argument("-c", "--critical-first", action="store_true", help="critical, then abnormal results first")
    show.add_argument("--text", action="store_true", help="also print the lab's free text (HPRIM)")
    show.add_argument("--colour", "--color", choices=("auto", "always", "never"), default="auto",
                      help="colour abnormal rows (default: when stdout is a terminal and NO_COLOR is unset)")
    show.set_defaults(func=run_show)

    export = cmds.add_parser("export", help="export a report for the medical record (FHIR R4 JSON or HPRIM)")
    kind = export.add_mutually_exclusive_group(required=True)
    kind.add_argument("--fhir", action="store_const", const="fhir", dest="format", help="a FHIR R4 Bundle (JSON)")
    kind.add_argument("--hprim", action="store_const", const="hprim", dest="format", help="an HPRIM file")
    export.add_argument("source", metavar="FILE|MESSAGE", help="an HPRIM or HL7 file, or a message (.eml)")
    export.add_argument("-o", "--output", type=Path, metavar="PATH",
                        help="write here instead of stdout; with --hprim, a folder gets one file per report, "
                             "written atomically under a name medical software picks up")
    export.add_argument("--drop", action="store_true",
                        help="with --hprim: drop into [lab] hprim_folder of config.toml")
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
    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser) -> int:
    raise UsageError("which lab action? show, export or generate (see `pli lab --help`)")


def load_reports(source: str, home: Home) -> list:
    """The reports a FILE|MESSAGE argument names: a lab file, or a message file (.eml).

    The one place the argument is resolved; the store adds its lookup of a
    message id here (`home` is for that).
    """
    from pli.core.lab import parse_reports, reports_in_mail

    path = Path(source).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        from pli.core.store.store import stored_message

        data = stored_message(source, home)  # a message id of the store (`pli search` prints them)
        if data is None:
            raise UsageError(f"no such file or stored message: {source}") from None
        path = Path("stored.eml")
    except IsADirectoryError:
        raise UsageError(f"{source} is a folder; give a lab file or a message") from None
    except OSError as error:
        raise PliError(f"cannot read {source}: {error.strerror}") from None
    if not _is_message(path, data):
        return parse_reports(data)
    reports = reports_in_mail(email.message_from_bytes(data, policy=email.policy.default))
    if not reports:
        raise PliError(f"{source} holds no lab report (no HPRIM or HL7 attachment)")
    return reports


def _is_message(path: Path, data: bytes) -> bool:
    if path.suffix.lower() == ".eml":
        return True
    head = data[:8192]
    return bool(_HEADER_LINE.match(head)) and re.search(rb"(?im)^content-type:", head) is not None


def _use_colour(choice: str) -> bool:
    if choice != "auto":
        return choice == "always"
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def run_show(args) -> int:
    from pli.core.lab.render import render

    reports = load_reports(args.source, Home.resolve(args.home))
    colour = _use_colour(args.colour)
    blocks = [render(r, colour=colour, critical_first=args.critical_first, with_text=args.text) for r in reports]
    print(("\n\n" + "─" * 60 + "\n\n").join(blocks))
    return 0


def run_export(args) -> int:
    from pli.core.lab import hprim_export
    from pli.core.lab.export import export_reports

    home = Home.resolve(args.home)
    reports = load_reports(args.source, home)
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
    data = export_reports(reports, args.format)
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        args.output.write_bytes(data)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def run_generate(args) -> int:
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
    print(f"wrote {args.count} generated lab report file(s) to {args.output}/ "
          f"(invented patients, seed {args.seed})", file=sys.stderr)
    return 0
