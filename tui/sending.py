"""Sending from the TUI: the outbox is flushed through the configured account in a worker thread.

The SMTP dialogue can take seconds (or a timeout when the network is down):
it runs off the UI thread, and its outcome comes back as a notification.
Whatever fails stays in the outbox with its reason (pli.core.transport.outbox),
for the Outbox screen's retry key or `pli send flush`.
"""
from __future__ import annotations

from dataclasses import dataclass

from pli.core.errors import PliError
from pli.core.plural import counted

RETRY_HINT = "kept in the outbox; retry from the Outbox screen (command palette: Outbox, key r) or `pli send flush`"


@dataclass(frozen=True)
class SendOutcome:
    """What a flush did, in words for a notification."""

    message: str
    severity: str      # "information" | "warning" | "error"
    title: str


def account_ready(home) -> str | None:
    """None if an account can send, else why not (in a sentence the user can act on)."""
    # start-up: loaded when first used, after the first screen
    from pli.core.transport.accounts import AccountError, usable_accounts

    try:
        accounts = usable_accounts(home)      # each recipient's account is chosen when it is sent
    except AccountError as error:
        return str(error)
    if all(a.smtp is None for a in accounts.values()):
        return f"no account has an smtp_host ({', '.join(accounts)}): none can send"
    return None


def flush_outbox(home, keyring, only_keys: set[str] | None = None) -> SendOutcome:
    """Submit what waits in the outbox (only `only_keys` when given); runs in a worker thread."""
    # start-up: loaded when first used, after the first screen
    from pli.core.transport.outbox import flush_account

    try:
        report = flush_account(home, keyring, None, only_keys)
    except Exception as error:  # noqa: BLE001 - a worker's crash would go unseen: say it, keep the mail
        problem = str(error) if isinstance(error, PliError) else f"internal error ({type(error).__name__})"
        if only_keys and not only_keys & waiting_keys(home):
            # it left (the outbox moved it): what failed is the bookkeeping after, e.g. the index was busy
            return SendOutcome(f"sent, but the Sent copy was not updated: {problem}", "warning", "Sent")
        return SendOutcome(f"not sent: {problem}; {RETRY_HINT}", "error", "Not sent")
    return outcome(report)


def waiting_keys(home) -> set[str]:
    # start-up: loaded when first used, after the first screen
    from pli.core.transport.outbox import pending

    try:
        return {q.key for q in pending(home)}
    except OSError:
        return set()


def outcome(report) -> SendOutcome:
    lines = [f"sent to {', '.join(q.recipients)} (queue id {r.queue_id})" for q, r in report.sent]
    lines += [f"not sent to {', '.join(q.recipients)}: {e}" for q, e in report.failed]
    if report.not_tried:
        lines.append(f"{counted(len(report.not_tried), 'more message')} not tried (server unreachable "
                     "or misconfigured)")
    if report.failed or report.not_tried:
        return SendOutcome("\n".join(lines + [RETRY_HINT]), "error", "Not sent")
    if not report.sent:
        return SendOutcome("nothing was waiting in the outbox", "information", "Outbox")
    return SendOutcome("\n".join(lines), "information", "Sent")


def start_flush(app, only_keys: set[str] | None = None, done=None) -> None:
    """Flush in a thread worker of `app`; notify the outcome, then call `done()` on the UI thread."""
    problem = account_ready(app.home)
    if problem is not None:
        app.notify(f"queued in the outbox, not sent: {problem}", title="Outbox", severity="warning", timeout=10)
        return
    what = counted(len(only_keys), "message") if only_keys is not None else "the waiting messages"
    app.notify(f"sending {what}…", title="Sending", timeout=3)
    keyring = app.keyring

    def work() -> None:
        result = flush_outbox(app.home, keyring, only_keys)
        app.call_from_thread(_report, app, result, done)

    app.run_worker(work, thread=True, group="send", exit_on_error=False)


def _report(app, result: SendOutcome, done) -> None:
    app.notify(result.message, title=result.title, severity=result.severity,
               timeout=12 if result.severity == "error" else 6)
    if done is not None:
        done()
