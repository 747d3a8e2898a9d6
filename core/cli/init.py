"""`pli init`: create a home's store (Maildirs, notmuch database and config, [store] settings)."""
from __future__ import annotations

from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("init", help="create the store of a pli home (safe to rerun)")
    p.add_argument("--name", default="", help="your name, for the notmuch config")
    p.add_argument("--address", default="", help="your mail address, for the notmuch config")
    p.set_defaults(func=run)


def run(args) -> int:
    from pli.core.store import create_store

    home = Home.resolve(args.home)
    created = create_store(home, name=args.name, address=args.address)
    layout = created.layout
    print(f"{'created' if created.new else 'already there'}: store in {layout.mail}")
    print(f"incoming mail (gateway, mbsync): {layout.incoming}/new  ->  `pli new`")
    print(f"notmuch, alot, neomutt: NOTMUCH_CONFIG={layout.notmuch_config}")
    return 0
