"""`pli fetch`: pull new mail from the account's IMAP folder into the incoming Maildir, then store it (`pli new`)."""
from __future__ import annotations

from pli.core.cli.common import add_output, report_to, store_mail
from pli.core.home import Home


def register(sub) -> None:
    p = sub.add_parser("fetch", help="fetch new mail over IMAP into the incoming Maildir, then store it")
    p.add_argument("--account", help="the [accounts.NAME] to fetch from (default: the default account)")
    p.add_argument("--no-new", action="store_true", help="only fetch; leave storing to a later `pli new`")
    p.add_argument("--quiet", action="store_true", help="no progress, only the summary")
    add_output(p)
    p.set_defaults(func=run)


def run(args) -> int:
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.directory.resolve import unlock
    from pli.core.mail.mssante_admission import imap_session
    from pli.core.store.layout import Layout
    from pli.core.transport.accounts import choose_account
    from pli.core.transport.fetch import fetch
    from pli.core.audit import home_journal

    home = Home.resolve(args.home)
    account = choose_account(home, args.account)
    keyring = unlock(home)              # signs the trace (and holds the password if it is kept there)
    journal = home_journal(home, keyring)
    layout = Layout(home)

    def traced(names):
        # start-up: `pli` loads what a command needs only when that command runs
        from pli.core.audit import Step

        journal.record_many([Step("fetched", _message_id(layout.incoming / "new" / n) or n,
                                  {"via": "imap", "target": account.name}) for n in names])

    session = imap_session(home, account, keyring)   # an MSSanté account logs in its own way
    password = account.imap_login.secret(home, keyring) if account.imap_login and session is None else None
    report = fetch(home, account, password, layout.incoming, on_batch=traced, session=session)
    with report_to(args) as out:
        print(report.render(), file=out)
        if args.no_new or not layout.exists():
            return 0
        status = store_mail(home, None, out, quiet=args.quiet) if report.fetched else 0
        if session is not None:        # MDNs/DSNs come back, MDNs asked for: this run's and those left before
            status = _after_fetch(home, keyring, out, status)
    return status


def _after_fetch(home, keyring, out, status: int) -> int:
    """The MSSanté reports matched with the mail sent, then the MDNs MSSanté mail asks for submitted, said in
    the report; 75 when one was not taken (it stays due)."""
    # start-up: `pli` loads what a command needs only when that command runs
    from pli.core.mail.receive import after_fetch

    mdns = after_fetch(home, keyring)
    if mdns.render():
        print(mdns.render(), file=out)
    return 75 if mdns.failed and status == 0 else status


def _message_id(path) -> str | None:
    """The envelope id of a sealed mail (its Message-ID's local part), else its Message-ID, for the trace."""
    import email.parser
    import email.policy

    try:
        with open(path, "rb") as handle:
            headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parse(handle)
    except OSError:
        return None
    value = str(headers.get("Message-ID", "")).strip().strip("<>")
    local = value.partition("@")[0]
    return local.removesuffix(".sealed") if local.endswith(".sealed") else (value or None)
