"""What the command modules share: reading an input file, writing a report (-o/--output), a stored message's
id and summary line, storing mail with its summary (import, new, fetch), and the old spellings of commands
that became subcommands, kept working as hidden aliases (scripts use them).

Reports go to stdout (or to the -o/--output file); progress and errors go to stderr.
"""
from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

from pli.core.durable import write_atomic
from pli.core.errors import UsageError
from pli.core.plural import counted
from pli.core.home import Home

#: Old spellings, kept as hidden aliases (docs/CLI.md, "Old spellings"): per command, the flag that
#: named an action and the subcommand it is now.  The flag goes, the subcommand takes its place.
FLAG_ACTIONS = {
    "send": {"--list": "list", "--flush": "flush", "--set-password": "password"},
    "note": {"--show": "show"},
}
#: The subcommand meant when a command is given none of its subcommands (its old, flagless spelling).
DEFAULT_ACTIONS = {"send": "message", "note": "send"}
#: Every subcommand of these commands (what an old spelling is told apart by).
SUBCOMMANDS = {"send": ("message", "list", "flush", "password"), "note": ("send", "show")}


def add_actions(parser, command: str):
    """The subcommands (actions) of `pli COMMAND`; the command given none is a usage error naming them."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION")

    def needs_action(args) -> int:
        raise UsageError(f"pli {command} needs an action: {', '.join(actions.choices)} (see `pli {command} --help`)")

    parser.set_defaults(func=needs_action)
    return actions


def addresses(text: str) -> list[str]:
    """ADDR[,ADDR...] as options take them (--to, --with, --serves): each address stripped, empty ones dropped."""
    return [a.strip() for a in text.split(",") if a.strip()]


def add_store_options(parser) -> None:
    """The options of the commands that store mail (import, new): worker processes, progress, -o."""
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    add_output(parser)


def read_input(path: Path | None) -> bytes:
    """The bytes of FILE, or of stdin when FILE is absent or '-'."""
    if path is None or str(path) == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def add_output(parser) -> None:
    """-o/--output FILE: where the command's report goes (default: stdout)."""
    parser.add_argument("-o", "--output", type=output_file, metavar="FILE",
                        help="write the report to FILE (written whole, atomically) instead of stdout")


def output_file(text: str) -> Path:
    """-o FILE, refused at once when it names a folder: before the command does anything (seals, spends pad)."""
    if Path(text).is_dir():
        raise UsageError(f"cannot write {text}: it is a folder; name a file in it")
    return Path(text)


def add_output_folder(parser, help: str) -> None:
    """-o/--output DIR, for a command whose output is files in a folder.  `--out DIR`, its old spelling, still
    works: argparse takes a long option's unambiguous prefix (tests/core/cli/test_output.py holds it)."""
    parser.add_argument("-o", "--output", type=Path, metavar="DIR", required=True, help=help)


@contextlib.contextmanager
def report_to(args) -> Iterator[TextIO]:
    """The stream a report is printed to: stdout, or a buffer written to args.output once the command
    completes (atomically, 0600: reports may name patients; a command that fails writes no report).
    Bytes go to its .buffer, as to stdout's."""
    output = getattr(args, "output", None)
    if output is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    if Path(output).is_dir():      # checked first: the rename over a folder fails after the copy is staged
        raise UsageError(f"cannot write {output}: it is a folder; name a file in it")
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    yield stream
    stream.flush()
    try:
        write_atomic(output, stream.buffer.getvalue(), mode=0o600)
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror}") from None


def write_report(args, data: bytes) -> None:
    """A report that is bytes (a mail, a public identity) on stdout or in the -o/--output file."""
    with report_to(args) as out:
        out.buffer.write(data)


def flushed(report, out: TextIO) -> int:
    """A flush's report (pli.core.transport.outbox) printed to `out` (report_to); 75 when some mail stays
    waiting, said on stderr too, with the first reason (an error is never only in the report)."""
    print(report.render(), file=out)
    if not report.failed and not report.not_tried:
        return 0
    kept = len(report.failed) + len(report.not_tried)
    why = f": {report.failed[0][1]}" if report.failed else ""
    print(f"pli: {kept} mail{'s' if kept > 1 else ''} kept in the outbox{why}; `pli send flush` tries again",
          file=sys.stderr)
    return 75


def message_id_arg(text: str) -> str:
    """A message id as the user gives it (`pli search` prints `id:X`; `<X>` from a header) without decoration."""
    return text.removeprefix("id:").strip("<>")


def summary_line(summary) -> str:
    """A stored message in one line (pli.core.store's summary): `pli search` rows, `pli show --summary`."""
    when = datetime.fromtimestamp(summary.date).strftime("%Y-%m-%d %H:%M")
    tags = " ".join(sorted(summary.tags))
    lab = f"  [{summary.lab_summary}]" if summary.lab_summary else ""
    patient = f"  {summary.patient}" if summary.patient else ""
    return f"{when}  {summary.sender}{patient}  {summary.subject}{lab}  ({tags})  id:{summary.message_id}"


#: Exit status of `pli import`, `pli new` and `pli fetch` when all was stored but some lab report or XDM package
#: could not be read wholly (sysexits' EX_DATAERR: the input data was incorrect); the report names each one.
EXIT_STORED_NOT_READ_WHOLLY = 65


def store_mail(home: Home, paths: list[Path] | None, out: TextIO, *, workers: int | None = None,
               quiet: bool = False) -> int:
    """Store mail as `pli import PATH...` (or, paths None, `pli new`) does: progress on stderr, the summary on
    `out` (report_to); the exit status.  A replay or pad reuse is an alarm (exit 6, the SECURITY ALERT on stderr),
    whatever else the run did; else 1 when a message could not be read; else EXIT_STORED_NOT_READ_WHOLLY when every
    message was stored but a lab report (or an XDM package) in one could not be read wholly: nothing is lost,
    and a script still learns that someone has to look at them."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.mail.receive import receive
    from pli.core.store.progress import Progress

    report = receive(home, paths, workers=workers, progress=Progress.for_stream(sys.stderr, quiet=quiet))
    print(report.render(), file=out)
    if report.alerts:
        # start-up: `pli` loads what a command needs only when that command runs
        from pli.core.crypto.refusals import ReplayAlert

        for line in report.render_alerts().splitlines():
            print(f"pli: {line}", file=sys.stderr)
        return ReplayAlert.exit_code
    if report.failed:
        return 1
    if report.lab_unread:
        print(f"pli: {counted(len(report.lab_unread), 'message')} stored with a lab report pli could not read wholly: "
              "read them as text (`pli search tag:lab-unreadable or tag:lab-incomplete`) and ask the lab to send "
              "them again if a result is missing", file=sys.stderr)
        return EXIT_STORED_NOT_READ_WHOLLY
    return 0


def new_spelling(argv: list[str]) -> list[str]:
    """argv with an old spelling of `pli send` or `pli note` turned into its subcommand; the rest as is."""
    at = _command_index(argv)
    if at is None or argv[at] not in SUBCOMMANDS:
        return argv
    command, rest = argv[at], argv[at + 1:]
    if rest and rest[0] in SUBCOMMANDS[command] or any(a in ("-h", "--help") for a in rest[:1]):
        return argv
    for flag, action in FLAG_ACTIONS[command].items():
        for index, arg in enumerate(rest):
            if arg == flag or arg.startswith(flag + "="):
                value = [arg.split("=", 1)[1]] if "=" in arg else []
                return argv[:at + 1] + [action] + value + rest[:index] + rest[index + 1:]
    return argv[:at + 1] + [DEFAULT_ACTIONS[command]] + rest


def _command_index(argv: list[str]) -> int | None:
    """Where the command is in argv (after the global --home DIR / --home=DIR), None without one."""
    index = 0
    while index < len(argv):
        if argv[index] == "--home":
            index += 2
        elif argv[index].startswith("--home="):
            index += 1
        else:
            return index if not argv[index].startswith("-") else None
    return None
