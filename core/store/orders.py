"""Lab orders across stored messages: the messages of an order, and their tags once a later one arrives.

Every stored message with a lab report carries one `pli.order=<key>` property
per order it answers (pli.core.lab.corrections.order_key: the verified sender,
the lab, the request number, the patient).  When the writer indexes a message
whose order is already in the store, it settles the order in the same
transaction (so a crash leaves all of it or none of it): each message of the
order is read again, and for each analysis the latest message's value is
current (pli.core.lab.corrections).  Then, for every message of the order:

  superseded   some of its results are replaced by a later message;
  supersedes   it replaces results of an earlier message;
  abnormal, critical   say what its *current* results are: a critical value a
               correction replaced no longer makes the message critical;
  pli.lab      the list's summary: current results first, then what changed,
               "K 4,5 (was 6,8 HH)", never the replaced value as current.

Readers (the lab view, `pli lab show`, exports) get the same view from
`order_history`: the message's reports with those of every stored message of
the same orders.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import notmuch2

from pli.core.errors import PliError
from pli.core.lab.corrections import Received, corrected_by, current, history_of, replaced_in, replacements
from pli.core.store import headers
from pli.core.store.tagging import LAB_SUMMARY_MAX, lab_facts
from pli.core.vocab import (ABNORMAL, CRITICAL, LAB_PROPERTY as LAB, NOTABLE, ORDER_PROPERTY as ORDER, SUPERSEDED,
                            SUPERSEDES)
from pli.core.lab.detect import reports_in_bytes  # the parsers, only once an order is settled or read

QUERY_KEYS = 100          # order keys per query (a batch asks about up to a thousand)
MAX_SETTLED = 500         # messages read to settle one batch's orders: a flood of one order stops here


def order_query(keys: Iterable[str]) -> str:
    return " or ".join(f"property:{ORDER}={key}" for key in keys)


def received_in(raw: bytes, message_id: str, when: float) -> list[Received]:
    """The reports of a stored clear message as Received (its verified sender from X-Pli-Sender-Id)."""
    fields = headers.first_values(raw)
    sender = fields.get("x-pli-sender-id", "") if fields.get("x-pli-verified", "") == "yes" else ""
    return [Received(report, message_id, when, sender, position)
            for position, report in enumerate(reports_in_bytes(raw))]


# -- the writer's side ---------------------------------------------------------------------------

def settle(db: notmuch2.Database, new: dict[str, set[str]]) -> int:
    """Settle every order of `new` ({order key: ids of the messages just indexed with it}) that now
    has more than one stored message.  Runs inside the writer's transaction; returns the number of
    messages re-tagged.  The usual case (no order seen before) costs one count per batch."""
    if not new:
        return 0
    fresh = set().union(*new.values())
    query = order_query(sorted(new))   # one query: a message answering two orders is counted once
    if db.count_messages(query) <= len(fresh) and all(len(ids) == 1 for ids in new.values()):
        return 0
    members: dict[str, set[str]] = {}
    for message in db.messages(query):
        for _, value in message.properties.getall(ORDER, exact=True):
            if value in new:
                members.setdefault(value, set()).add(message.messageid)
    shared = sorted(key for key, ids in members.items() if len(ids) > 1)
    if not shared:
        return 0
    messages = _order_messages(db, shared)
    received = []
    for message_id, (path, when) in messages.items():
        try:
            with open(path, "rb") as clear:
                received += received_in(clear.read(), message_id, when)
        except (OSError, PliError):
            continue  # a file gone or a report that no longer reads: its tags stay as they are
    replaced = replacements(received)
    by_message: dict[str, list[Received]] = {}
    by_order: dict[str, list[Received]] = {}
    for entry in received:
        by_message.setdefault(entry.message_id, []).append(entry)
        by_order.setdefault(entry.order, []).append(entry)
    for message_id, mine in by_message.items():
        related = [r for order in dict.fromkeys(e.order for e in mine) for r in by_order[order]]
        _retag(db, message_id, mine, related, replaced)
    return len(messages)


def _order_messages(db: notmuch2.Database, keys: list[str]) -> dict[str, tuple[str, float]]:
    """{message id: (clear file, date)} of the orders' messages, and of the other orders those
    messages answer (their tags depend on them too), up to MAX_SETTLED messages."""
    found: dict[str, tuple[str, float]] = {}
    todo, asked = set(keys), set()
    while todo and len(found) < MAX_SETTLED:
        batch = sorted(todo)[:QUERY_KEYS]
        todo -= set(batch)
        asked |= set(batch)
        for message in db.messages(order_query(batch)):
            if message.messageid in found:
                continue
            found[message.messageid] = (str(message.path), float(message.date))
            todo |= {value for _, value in message.properties.getall(ORDER, exact=True)} - asked
    return found


def _retag(db: notmuch2.Database, message_id: str, mine: list[Received], received: list[Received],
           replaced: dict) -> None:
    if not mine:
        return
    view = lab_view(mine, received, replaced)
    message = db.find(message_id)
    with message.frozen():
        for tag in (ABNORMAL, CRITICAL, SUPERSEDED, SUPERSEDES):
            message.tags.discard(tag)
        for tag in view.tags:
            message.tags.add(tag)
        del message.properties[LAB]
        if view.summary:
            message.properties.add(LAB, view.summary)


# -- what a message shows once its orders are settled ---------------------------------------------

@dataclass(frozen=True)
class LabView:
    """A message's lab state with the corrections of its orders: tags and list summary."""

    tags: frozenset[str]
    summary: str


def lab_view(mine: list[Received], received: list[Received], replaced: dict) -> LabView:
    live = [report for report in (current(entry, replaced) for entry in mine) if report.current]
    facts = lab_facts(live)
    tags = set()
    if facts.severity in NOTABLE:
        tags.add(ABNORMAL)
    if facts.severity == CRITICAL:
        tags.add(CRITICAL)
    gone = [pair for entry in mine for pair in replaced_in(entry, replaced)]
    fixes = [pair for entry in mine for pair in corrected_by(entry, received, replaced)]
    if gone:
        tags.add(SUPERSEDED)
    if any(rep.message_id == entry.message_id for entry in mine for other in received
           for _, rep in replaced_in(other, replaced)):
        tags.add(SUPERSEDES)
    parts = [facts.summary] if live else []
    changed = [f"{rep.observation.short_name} {_shown(rep.observation)} (was {_shown(old)})"
               for old, rep in gone if _shown(old) != _shown(rep.observation)]
    if changed:
        parts.append("replaced by a later report: " + ", ".join(changed))
    elif gone and not live:
        parts.append("replaced by a later report")
    if fixes:
        parts.append("corrects " + ", ".join(f"{new.short_name} {_shown(new)} (was {_shown(old)})"
                                            for old, new in fixes))
    text = "; ".join(parts)
    if len(text) > LAB_SUMMARY_MAX:
        text = text[:LAB_SUMMARY_MAX - 1] + "…"
    return LabView(frozenset(tags), text)


def _shown(observation) -> str:
    flag = observation.lab_flag.strip()
    return f"{observation.value} {flag}".strip()


# -- the readers' side ---------------------------------------------------------------------------

def order_history(store, message_id: str, raw: bytes) -> tuple[list[Received], dict]:
    """(every Received of this message and of the stored messages of its orders, their replacements):
    what the lab view, `pli lab show` and exports need to tell current values from replaced ones."""
    when = float(store.summary(message_id).date)
    mine = received_in(raw, message_id, when)
    keys = sorted({entry.order for entry in mine if entry.order})
    received = list(mine)
    if keys:
        for other in store.message_ids(order_query(keys)):
            if other == message_id:
                continue
            try:
                received += received_in(store.read_clear(other), other, float(store.summary(other).date))
            except (OSError, PliError):
                continue
    return received, replacements(received)


def lab_reports(store, message_id: str, raw: bytes | None = None) -> tuple[list, list]:
    """Store.lab_reports: the message's reports, the results later messages of their orders replaced
    marked superseded (history), and the History of each (what replaced them, what they correct)."""
    raw = store.read_clear(message_id) if raw is None else raw
    received, replaced = order_history(store, message_id, raw)
    mine = [entry for entry in received if entry.message_id == message_id]
    return [current(entry, replaced) for entry in mine], [history_of(entry, received, replaced) for entry in mine]
