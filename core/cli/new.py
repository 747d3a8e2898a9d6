"""`pli new`: store what was delivered into the home's incoming Maildir since the last run."""
from __future__ import annotations

from pli.core.cli.common import add_store_options, report_to, store_mail
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("new", help="store what was delivered into the incoming Maildir since the last run")
    add_store_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    with report_to(args) as out:
        return store_mail(Home.resolve(args.home), None, out, workers=args.workers, quiet=args.quiet)
