"""The sender's side at sealing time: trace that receipts were asked for.

The request itself is a header of the inner message (message.ask), sealed with
it; this records, once the envelope exists, one "receipt-requested" step per
kind on its envelope id, so that `pli audit show` lists the request before
the receipts that answer it.
"""
from __future__ import annotations

from pli.core.audit import AuditMisuse, Step
from pli.core.home import Home
from pli.core.receipts.config import load_receipts_config
from pli.core.receipts.message import kinds_option, parse_kinds


def kinds_to_ask(home: Home, option: str | None) -> tuple[str, ...]:
    """What to ask for on a message being sent: `option` ("delivery,read", "none"...) when the user
    gave one, else the home's [receipts] ask setting."""
    if option is None:
        return load_receipts_config(home.config).ask
    return kinds_option(option)


def record_request(journal, envelope_id: str, kinds, message_id: str = "") -> None:
    """Trace the request of `kinds` for the sealed message `envelope_id` (nothing when kinds is empty)."""
    kinds = parse_kinds(kinds if isinstance(kinds, str) else ",".join(kinds))
    if not kinds:
        return
    steps = [Step("receipt-requested", envelope_id, {"receipt": kind, "mid": message_id.strip("<> ")})
             for kind in kinds]
    try:
        journal.record_many(steps if message_id else [_without_mid(s) for s in steps])
    except AuditMisuse:  # a Message-ID the trace cannot hold: the steps without it
        journal.record_many([_without_mid(s) for s in steps])


def _without_mid(step: Step) -> Step:
    return Step(step.step, step.message_id, {k: v for k, v in step.details.items() if k != "mid"})
