"""`pli init`: create a home's store (Maildirs, notmuch database and config, [store] settings) and set the
directory's trust anchor (the authority whose signed directories the home accepts)."""
from __future__ import annotations

from pathlib import Path

from pli.core.cli.common import read_input
from pli.core.errors import UsageError
from pli.core.home import Home
from pli.core.plural import counted


def register(sub) -> None:
    p = sub.add_parser("init", help="create the store of a pli home and trust a directory authority (safe to rerun)")
    p.add_argument("--name", default="", help="your name, for the notmuch config")
    p.add_argument("--address", default="", help="your mail address, for the notmuch config")
    p.add_argument("--trust-authority", metavar="KEYFILE", type=Path,
                   help="the directory authority's public key file (`ed25519 BASE64` or PEM): the trust anchor")
    p.add_argument("--directory", metavar="FILE", type=Path,
                   help="a signed directory file to install; without --trust-authority, its signer becomes the "
                        "trust anchor once --authority-fingerprint confirms it")
    p.add_argument("--authority-fingerprint", metavar="HEX",
                   help="the authority key's fingerprint as your authority published it (32 hex digits)")
    p.set_defaults(func=run)


def run(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.store import create_store

    home = Home.resolve(args.home)
    data = read_input(args.directory) if args.directory else None
    anchor = _anchor(args, home, data)    # every check before anything is written
    if data is not None:
        # start-up: `pli` loads what a command needs only when that command runs
        from pli.core.directory.signed import open_directory

        open_directory(data, anchor or _current_anchor(home), str(args.directory))
    created = create_store(home, name=args.name, address=args.address)
    layout = created.layout
    print(f"{'created' if created.new else 'already there'}: store in {layout.mail}")
    print(f"incoming mail (gateway, mbsync): {layout.incoming}/new  ->  `pli new`")
    print(f"notmuch, alot, neomutt: NOTMUCH_CONFIG={layout.notmuch_config}")
    if anchor is not None:
        _trust(home, anchor)
    if data is not None:
        # start-up: `pli` loads what a command needs only when that command runs
        from pli.core.directory import import_directory

        signed = import_directory(home, data, str(args.directory))
        print(f"directory installed: {counted(len(signed.entries), 'entry')}, serial {signed.serial}")
    return 0


def _anchor(args, home: Home, data: bytes | None):
    """The key to trust: the given key file, or the directory's signer confirmed by its fingerprint;
    None when there is nothing new to trust."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory import read_one
    from pli.core.directory.signed import WrongAuthority, claimed_authority

    if args.trust_authority is not None:
        key = read_one(args.trust_authority, "ed25519")
        _confirm(key, args.authority_fingerprint)
        return key
    if data is None:
        if args.authority_fingerprint:
            raise UsageError("--authority-fingerprint confirms the signer of --directory FILE: give the file")
        return None
    key = claimed_authority(data, str(args.directory))
    if not args.authority_fingerprint:
        if _current_anchor(home) is not None:
            return None   # the home already trusts an authority: the file is checked against it
        raise UsageError(f"{args.directory} is signed by authority {key.fingerprint}: check that fingerprint with "
                         "your directory authority (out of band), then rerun with --authority-fingerprint, "
                         "or give its key file with --trust-authority")
    try:
        _confirm(key, args.authority_fingerprint)
    except WrongAuthority:
        raise WrongAuthority(f"{args.directory} is signed by authority {key.fingerprint}, not by the "
                             f"{args.authority_fingerprint} you were given: nothing trusted, nothing installed") \
            from None
    return key


def _confirm(key, fingerprint: str | None) -> None:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.signed import WrongAuthority

    if fingerprint and key.fingerprint != "".join(c for c in fingerprint.lower() if c in "0123456789abcdef"):
        raise WrongAuthority(f"the authority key has fingerprint {key.fingerprint}, not {fingerprint}: "
                             "nothing trusted")


def _current_anchor(home: Home):
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory import NoTrustAnchor, trust_anchor

    try:
        return trust_anchor(home)
    except NoTrustAnchor:
        return None


def _trust(home: Home, key) -> None:
    """Set the trust anchor; a different one already set is changed only by `pli dir trust`, knowingly."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory import set_trust_anchor
    from pli.core.directory.signed import WrongAuthority

    current = _current_anchor(home)
    if current is not None and current != key:
        raise WrongAuthority(f"{home.root} already trusts directory authority {current.fingerprint}; to replace "
                             f"it by {key.fingerprint}, run `pli dir trust KEYFILE` (directories of the old "
                             "authority will then be refused)")
    set_trust_anchor(home, key)
    print(f"directory authority trusted: ed25519 {key.b64} (fingerprint {key.fingerprint})")
