"""`pli dir ...`: the professional directory (trust, import, search) and its authority's tooling."""
from __future__ import annotations

from pathlib import Path

from pli.core.cli.common import add_actions, add_output, read_input, report_to
from pli.core.errors import UsageError
from pli.core.home import Home
from pli.core.plural import counted


def register(sub) -> None:
    p = sub.add_parser("dir", help="the professional directory: trust, import, search; authority tools")
    cmds = add_actions(p, "dir")
    _user_commands(cmds)
    _authority_commands(cmds)


def _user_commands(cmds) -> None:
    c = cmds.add_parser("trust", help="trust this directory authority public key (the home's trust anchor)")
    c.add_argument("keyfile", help="the authority's public key file (`ed25519 BASE64` or PEM)")
    c.set_defaults(func=run_trust)
    c = cmds.add_parser("import", help="install a directory file signed by the trusted authority")
    c.add_argument("file", type=Path)
    c.set_defaults(func=run_import)
    c = cmds.add_parser("search", help="find professionals by name, town, specialty or identifier")
    c.add_argument("text", nargs="+")
    c.add_argument("--limit", type=int, default=50)
    add_output(c)
    c.set_defaults(func=run_search)
    c = cmds.add_parser("show", help="one entry in full: identity, addresses, keys and their status")
    c.add_argument("who", help="an identifier (RPPS) or an address")
    add_output(c)
    c.set_defaults(func=run_show)
    c = cmds.add_parser("import-mssante", help="import the public MSSanté mailbox extract "
                                               "(Extraction_Correspondance_MSSante) into this home")
    c.add_argument("file", type=Path)
    c.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    add_output(c)
    c.set_defaults(func=run_import_mssante)


def _authority_commands(cmds) -> None:
    def authority_options(c, entries: bool = True) -> None:
        c.add_argument("--authority", type=Path, help="authority folder (default: HOME/authority)")
        if entries:
            c.add_argument("--entries", type=Path, help="entries file (default: AUTHORITY/entries.json)")

    c = add_actions(cmds.add_parser("authority", help="directory authority: `init` creates its signing key"),
                    "dir authority").add_parser("init", help="create the authority's signing key")
    authority_options(c, entries=False)
    c.set_defaults(func=run_authority_init)
    c = cmds.add_parser("import-rpps", help="add or refresh people from an RPPS extract (PS_LibreAcces)")
    c.add_argument("file", type=Path)
    authority_options(c)
    c.set_defaults(func=run_import_rpps)
    c = cmds.add_parser("bind", help="bind an entry to the keys of a public key file and/or an address")
    c.add_argument("id")
    c.add_argument("keyfile", type=Path, nargs="?",
                   help="`ed25519 BASE64` and `x25519 BASE64` lines (or PEM), or the public identity "
                        "`pli keys export-public` writes; none: only the address (a member a proxy serves)")
    c.add_argument("--address", help="the secure-messaging address these keys answer for "
                                      "(default: the identity file's)")
    authority_options(c)
    c.set_defaults(func=run_bind)
    c = cmds.add_parser("revoke", help="revoke one key of an entry (mail it signed gets flagged)")
    c.add_argument("id")
    c.add_argument("fingerprint")
    c.add_argument("--date", help="when it stopped being trusted (default: now), e.g. 2025-03-01")
    c.add_argument("--reason", choices=["compromised", "superseded", "retired"], default="compromised")
    authority_options(c)
    c.set_defaults(func=run_revoke)
    c = cmds.add_parser("group", help="create or update a group practice or a proxy establishment, and its members")
    c.add_argument("id")
    c.add_argument("--name", required=True)
    c.add_argument("--kind", choices=["group", "proxy"], default="group",
                   help="group: members share its agreement key; proxy: its server opens its members' mail")
    c.add_argument("--member", action="append", default=[], metavar="ID")
    authority_options(c)
    c.set_defaults(func=run_group)
    c = cmds.add_parser("sign", help="sign an entries file into a directory file homes can import")
    c.add_argument("entries", type=Path)
    c.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                   help="the signed directory file (written whole, atomically; public: mode 0644)")
    c.add_argument("--serial", type=int, help="version number (default: current Unix time)")
    authority_options(c, entries=False)
    c.set_defaults(func=run_sign)


def _authority_dir(args) -> Path:
    return args.authority or Home.resolve(args.home).root / "authority"


def _entries_path(args) -> Path:
    return args.entries or _authority_dir(args) / "entries.json"


def run_trust(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory import read_one, set_trust_anchor

    key = read_one(args.keyfile, "ed25519")
    set_trust_anchor(Home.resolve(args.home), key)
    print(f"directory authority trusted: ed25519 {key.b64} (fingerprint {key.fingerprint})")
    return 0


def run_import(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory import import_directory

    signed = import_directory(Home.resolve(args.home), read_input(args.file), str(args.file))
    print(f"directory imported: {counted(len(signed.entries), 'entry')}, serial {signed.serial}")
    return 0


def run_search(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory import load_directory

    found = load_directory(Home.resolve(args.home)).search(" ".join(args.text), limit=args.limit)
    with report_to(args) as out:
        for entry in found:
            where = ", ".join(x for x in (entry.specialty or entry.profession, entry.organisation, entry.town) if x)
            address = entry.addresses[0] if entry.addresses else "(no address)"
            print(f"{entry.id}  {entry.name}  {where}  {address}", file=out)
    return 0 if found else 1


def run_show(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory import load_directory
    from pli.core.errors import PliError

    directory = load_directory(Home.resolve(args.home))
    entry = directory.entry(args.who) or directory.by_address(args.who)
    if entry is None:
        raise PliError(f"{args.who} is not in the directory (try `pli dir search`)")
    with report_to(args) as out:
        _print_entry(directory, entry, out)
    return 0


def _print_entry(directory, entry, out) -> None:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.entry import format_time

    for label, value in (("id", entry.id), ("kind", entry.kind), ("name", entry.name),
                         ("profession", entry.profession), ("specialty", entry.specialty),
                         ("organisation", entry.organisation), ("town", entry.town),
                         ("addresses", ", ".join(entry.addresses)),
                         ("groups", ", ".join(g.name for g in directory.groups_of(entry))),
                         ("members", ", ".join(m.name for m in directory.members(entry.id)))):
        if value:
            print(f"{label:<13}{value}", file=out)
    for key in entry.keys:
        status = f"revoked {format_time(key.revoked)} ({key.reason})" if key.revoked else "current"
        print(f"{'key':<13}{key.key.alg} {key.fingerprint}  {status}", file=out)


def run_import_mssante(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    import sys

    from pli.core.directory.mssante_index import import_extract

    home = Home.resolve(args.home)
    progress = None if args.quiet else _RowProgress(sys.stderr)
    summary = import_extract(args.file, home.mssante_index, progress=progress)
    if progress is not None:
        progress.finish()
    with report_to(args) as out:
        print(f"MSSanté directory imported: {counted(summary.mailboxes, 'mailbox')} from "
              f"{counted(summary.rows, 'row')} ({counted(summary.skipped, 'row')} without a usable address skipped, "
              f"{counted(summary.duplicates, 'duplicate')} of an address already read) -> {home.mssante_index}",
              file=out)
    return 0


class _RowProgress:
    """Rows read so far on stderr: rewritten in place on a terminal, a line every few seconds otherwise.  The
    extract's length is not known before it is read, so there is no bar and no ETA."""

    def __init__(self, stream) -> None:
        # start-up: `pli` loads what a command needs only when that command runs
        import time

        self.stream, self.tty, self.clock, self.last = stream, stream.isatty(), time.monotonic, float("-inf")

    def __call__(self, rows: int) -> None:
        now = self.clock()
        if now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        end = "" if self.tty else "\n"
        print(f"{chr(13) if self.tty else ''}read {rows:,} rows of the MSSanté extract", end=end,
              file=self.stream, flush=True)

    def finish(self) -> None:
        if self.tty and self.last != float("-inf"):
            print(file=self.stream, flush=True)


def run_authority_init(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.authority import init_authority

    folder = _authority_dir(args)
    public = init_authority(folder)
    print(f"authority key created in {folder}; homes trust it with "
          f"`pli dir trust {folder / 'authority.pub'}` (fingerprint {public.fingerprint})")
    return 0


def run_import_rpps(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.authority import load_entries, save_entries
    from pli.core.directory.rpps import read_rpps, update_identities

    path = _entries_path(args)
    result = read_rpps(args.file)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_entries(path, update_identities(load_entries(path), result.entries))
    print(f"{counted(len(result.entries), 'professional')} from {counted(result.rows, 'row')} "
          f"({counted(result.skipped, 'row')} without an RPPS number skipped) -> {path}")
    return 0


def run_bind(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.authority import bind, load_entries, merge, save_entries

    path = _entries_path(args)
    entries = load_entries(path)
    entry = bind(entries, args.id, args.keyfile, args.address)
    save_entries(path, merge(entries, [entry]))
    current = [k for k in entry.keys if k.revoked is None]
    keys = ", ".join(f"{k.key.alg} {k.fingerprint}" for k in current) or "no keys of its own"
    print(f"{entry.id} {entry.name}: {keys}; addresses {', '.join(entry.addresses) or 'none'}")
    if not any(k.key.alg == "x25519" for k in current):
        proxies = [e.name for e in entries if e.id in entry.groups and e.kind == "proxy"]
        print(f"mail to it is sealed to the proxy {', '.join(proxies)}" if proxies else
              "nobody can seal mail to it yet: bind its keys, or make it a member of a proxy "
              "(`pli dir group ID --kind proxy --member ...`) with keys")
    return 0


def run_revoke(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from datetime import datetime, timezone

    from pli.core.directory.authority import AuthorityError, load_entries, merge, save_entries
    from pli.core.directory.entry import format_time, parse_time

    path = _entries_path(args)
    entries = load_entries(path)
    entry = next((e for e in entries if e.id == args.id), None)
    if entry is None:
        raise AuthorityError(f"no entry {args.id} in {path}")
    try:
        when = parse_time(args.date) if args.date else datetime.now(timezone.utc)
    except ValueError:
        raise AuthorityError(f"--date {args.date!r} is not a date like 2025-03-01 or 2025-03-01T08:00:00Z") from None
    save_entries(path, merge(entries, [entry.with_revocation(args.fingerprint, when, args.reason)]))
    print(f"{entry.id} {entry.name}: key {args.fingerprint} revoked on {format_time(when)} ({args.reason}); "
          "sign and distribute the directory again")
    return 0


def run_group(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from dataclasses import replace

    from pli.core.directory.authority import AuthorityError, load_entries, merge, save_entries
    from pli.core.directory.entry import from_json

    path = _entries_path(args)
    entries = load_entries(path)
    by_id = {e.id: e for e in entries}
    group = from_json({**(by_id[args.id].to_json() if args.id in by_id else {}),
                       "id": args.id, "kind": args.kind, "name": args.name})
    members = []
    for member_id in args.member:
        if member_id not in by_id:
            raise AuthorityError(f"no entry {member_id} in {path}: import or add it first")
        member = by_id[member_id]
        members.append(member if args.id in member.groups else replace(member, groups=member.groups + (args.id,)))
    save_entries(path, merge(entries, [group, *members]))
    print(f"{args.kind} {args.id} {args.name}: {counted(len(members), 'member')} added")
    return 0


def run_sign(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.authority import load_authority, load_entries, sign
    from pli.core.durable import write_atomic

    entries = load_entries(args.entries)
    data = sign(entries, load_authority(_authority_dir(args)), args.serial)
    try:
        write_atomic(args.output, data, mode=0o644)   # the file homes import: public, handed out
    except OSError as error:
        raise UsageError(f"cannot write {args.output}: {error.strerror}") from None
    print(f"signed directory of {counted(len(entries), 'entry')} written to {args.output}")
    return 0
