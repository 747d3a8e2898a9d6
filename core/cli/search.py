"""`pli search`: the stored messages a query matches, one line (or one JSON object) each."""
from __future__ import annotations

import json
from dataclasses import asdict

from pli.core.cli.common import add_output, report_to, summary_line
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("search", help="search the store (notmuch syntax plus shortcuts: abnormal, "
                                      "critical, unread, lab, quarantine, patient:NAME)")
    p.add_argument("query", nargs="*", help="the query (default: everything)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--limit", type=int, default=None, help="at most this many messages (newest first)")
    p.add_argument("--offset", type=int, default=0, help="skip this many messages first")
    add_output(p)
    p.set_defaults(func=run)


def run(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.store import Store
    from pli.core.store.query import expand

    query = expand(" ".join(args.query))
    with Store.open(Home.resolve(args.home)) as store:
        limit = args.limit if args.limit is not None else store.count(query)
        rows = store.window(query, args.offset, limit)
    with report_to(args) as out:
        for row in rows:
            if args.format == "json":
                data = asdict(row)
                data["tags"] = sorted(row.tags)
                print(json.dumps(data, ensure_ascii=False), file=out)
            else:
                print(summary_line(row), file=out)
    return 0
