"""`pli keys ...`: create the home's identity, show it, exchange public identities, share group keys."""
from __future__ import annotations

from pathlib import Path

from pli.core.cli.common import add_actions, addresses, add_output, add_output_folder, read_input, report_to, write_report
from pli.core.errors import PliError, UsageError
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("keys", help="your identity and keys, correspondents' public keys")
    cmds = add_actions(p, "keys")
    c = cmds.add_parser("init", help="create this home's identity (asks for a new passphrase)")
    c.add_argument("--id", required=True, help="your identifier (an 11-digit RPPS number or any stable id)")
    c.add_argument("--address", required=True, help="your secure-messaging address")
    c.add_argument("--name", required=True, help="your display name, e.g. 'Dr Jeanne Martin'")
    c.add_argument("--kind", choices=["person", "proxy"], default="person",
                   help="person (default), or proxy: an establishment's server opening its members' mail")
    c.add_argument("--serves", default="", help="proxy only: ADDR[,ADDR...] whose mail it opens")
    c.set_defaults(func=run_init)
    c = cmds.add_parser("show", help="your identity, groups and correspondents with fingerprints")
    add_output(c)
    c.set_defaults(func=run_show)
    c = cmds.add_parser("export-public", help="write your public identity to stdout (give it to correspondents)")
    add_output(c)
    c.set_defaults(func=run_export)
    c = cmds.add_parser("group-export-public",
                        help="write a group's public identity to stdout (for correspondents and the directory)")
    c.add_argument("group", help="the group's address")
    add_output(c)
    c.set_defaults(func=run_group_export_public)
    c = cmds.add_parser("import-public", help="trust a correspondent's public identity file (a home without "
                                              "a keyring of its own too: a gateway's trust home)")
    c.add_argument("file", type=Path)
    c.add_argument("--replace", action="store_true", help="replace a different key already held for the address")
    c.set_defaults(func=run_import)
    c = cmds.add_parser("group-new", help="create a group identity (a group practice) you are a member of")
    c.add_argument("--id", required=True)
    c.add_argument("--address", required=True)
    c.add_argument("--name", required=True)
    c.set_defaults(func=run_group_new)
    c = cmds.add_parser("group-export", help="seal a group's secret for a member (in DIR, one file per member)")
    c.add_argument("group", help="the group's address")
    c.add_argument("--to", required=True, help="MEMBER_ADDR[,MEMBER_ADDR...] (their public keys imported)")
    add_output_folder(c, "the folder for the member files (created if missing)")
    c.set_defaults(func=run_group_export)
    c = cmds.add_parser("group-import", help="join a group from the file a member made for you")
    c.add_argument("file", type=Path)
    c.set_defaults(func=run_group_import)


def run_init(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.crypto.identity import Identity
    from pli.core.crypto.keyring import Keyring, KeyringExists
    from pli.core.crypto.passphrase import read_passphrase

    home = Home.resolve(args.home)
    if Keyring.exists(home):
        raise KeyringExists(f"{home.root} already has a keyring; nothing changed")
    serves = tuple(addresses(args.serves))
    if serves and args.kind != "proxy":
        raise UsageError("--serves is for --kind proxy")
    identity = Identity.generate(args.id, args.address, args.name, kind=args.kind, serves=serves)
    keyring = Keyring.create(home, identity, read_passphrase("New keyring passphrase: ", confirm=True))
    print(f"created identity {identity.public.address} ({identity.public.name}), "
          f"fingerprint {identity.public.fingerprint}")
    print(f"give correspondents your public identity: pli --home {keyring.home.root} keys export-public")
    return 0


def run_show(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.crypto.keyring import load_correspondents, public_view

    home = Home.resolve(args.home)
    me, groups = public_view(home)
    with report_to(args) as out:
        print(f"identity   {me.kind:6} {me.address}  {me.name}  id {me.id}", file=out)
        print(f"           fingerprint {me.fingerprint}", file=out)
        for address in me.serves:
            print(f"           serves {address}", file=out)
        for group in groups:
            print(f"group      {group.address}  {group.name}  fingerprint {group.fingerprint}", file=out)
        for c in sorted(load_correspondents(home).values(), key=lambda c: c.address):
            print(f"known      {c.kind:6} {c.address}  {c.name}  fingerprint {c.fingerprint}", file=out)
    return 0


def run_export(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.crypto.keyring import public_view

    write_report(args, public_view(Home.resolve(args.home))[0].export())
    return 0


def run_group_export_public(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.crypto.identity import check_address
    from pli.core.crypto.keyring import public_view

    address = check_address(args.group)
    _me, groups = public_view(Home.resolve(args.home))
    group = next((g for g in groups if g.address == address), None)
    if group is None:
        known = ", ".join(g.address for g in groups) or "none"
        raise PliError(f"this home belongs to no group {address} (its groups: {known}); "
                         "see `pli keys show`")
    write_report(args, group.export())
    return 0


def run_import(args) -> int:
    """Trust a public identity; a home without a keyring (a gateway's trust home) keeps it all the same."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.crypto.identity import PublicIdentity
    from pli.core.crypto.keyring import trust_public

    home = Home.resolve(args.home)
    public = PublicIdentity.parse(read_input(args.file), str(args.file))
    trust_public(home, public, args.replace)
    print(f"imported {public.kind} {public.address} ({public.name}), fingerprint {public.fingerprint}")
    return 0


def run_group_new(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock

    group = unlock(Home.resolve(args.home)).create_group(args.id, args.address, args.name)
    print(f"created group {group.public.address} ({group.public.name}), fingerprint {group.public.fingerprint}")
    return 0


def run_group_export(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock
    from pli.core.durable import write_atomic

    keyring = unlock(Home.resolve(args.home))
    for member in addresses(args.to):
        path = args.output / f"group-{args.group}-for-{member}.pligroup"
        data = keyring.export_group(args.group, keyring.reach(member))
        write_atomic(path, data)   # created 0600: never a moment readable by others
        print(f"wrote {path}: give it to {member} (pli keys group-import FILE)")
    return 0


def run_group_import(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock

    data = read_input(args.file)        # an unreadable file is said before the passphrase is asked
    group, maker = unlock(Home.resolve(args.home)).import_group_from(data)
    print(f"joined group {group.public.address} ({group.public.name}); the file was made and signed by "
          f"{maker.name} <{maker.address}> (key {maker.fingerprint})")
    return 0

