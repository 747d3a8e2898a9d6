"""`pli import PATH...`: import mail (Maildir folders, mbox files, .eml files) into the store.

The module is `imports`, not `import`: a keyword cannot name a module (core/cli/__init__.py)."""
from __future__ import annotations

from pathlib import Path

from pli.core.cli.common import add_store_options, report_to, store_mail
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("import", help="import mail (Maildir folders, mbox files, .eml files) into the store")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add_store_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    with report_to(args) as out:
        return store_mail(Home.resolve(args.home), args.paths, out, workers=args.workers, quiet=args.quiet)
