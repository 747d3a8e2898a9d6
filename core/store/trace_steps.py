"""Trace steps of stored messages, many at a time: each message named as the trace names it, one append.

    left_out = record_batch(home, keyring, store, TraceBatch("exported", ids, {"target": "fhir"}))

What the TUI (read, archived, deleted, exported) and the command line
(`pli lab export --query`) write after acting on a selection of the store.
A sealed message is named by its envelope id (the one id the sender, the
gateway and the recipient all see), its Message-ID kept as the `mid` detail;
a message that is not sealed is named by its Message-ID.  A Message-ID the
trace cannot hold (a sender chooses it: one with spaces) is left out and
counted, so that it never stops the steps of the others.
pli.core.audit is imported when a step is made, not with this module: the TUI
imports this one at startup.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pli.core.errors import PliError
from pli.core.store.headers import value_of

HEAD_BYTES = 16384  # the importer writes the X-Pli-* fields first: the head of the file holds them


@dataclass(frozen=True)
class TraceBatch:
    step: str
    message_ids: tuple[str, ...]
    details: dict = field(default_factory=dict)


def envelope_ids(store, message_ids) -> dict[str, str]:
    """The envelope id of each sealed message (X-Pli-Envelope-Id of its clear file, written by
    the importer): the trace names a sealed message by it, as the sender and the gateway do."""
    found = {}
    for message_id in message_ids:
        try:
            with open(store.clear_path(message_id), "rb") as clear:
                head = clear.read(HEAD_BYTES)
        except (PliError, OSError):
            continue  # gone meanwhile: the step is still recorded, by Message-ID
        envelope = value_of(head, "X-Pli-Envelope-Id")
        if envelope:
            found[message_id] = envelope
    return found


def steps_for(batch: TraceBatch, actor: str, envelopes: dict[str, str] | None = None) -> tuple[list, int]:
    """The journal steps of a batch, and how many messages were left out because the trace cannot
    hold their id.  A sealed message is named by its envelope id, its Message-ID then kept as `mid`."""
    # start-up: the trace (and the crypto that signs it) loads with the first step written, not with
    # the TUI's first screen, which imports this module for its queue of steps
    from pli.core.audit import AuditMisuse, Step
    from pli.core.audit.entry import check_fields

    envelopes = envelopes or {}
    steps, left_out = [], 0
    for message_id in batch.message_ids:
        envelope = envelopes.get(message_id)
        name, details = (envelope, {**batch.details, "mid": message_id}) if envelope else \
            (message_id, dict(batch.details))
        try:
            check_fields(batch.step, name, actor, details)
        except AuditMisuse:
            left_out += 1
            continue
        steps.append(Step(batch.step, name, details))
    return steps, left_out


def record_batch(home, keyring, store, batch: TraceBatch) -> int:
    """Write the batch's steps to the home's trace, signed by the keyring's identity, with one
    append and one fsync; returns how many messages were left out (ids the trace cannot hold).
    Raises the journal's PliError (an unauthorized signer...) or OSError when it cannot write."""
    from pli.core.audit import home_journal  # start-up: see steps_for

    steps, left_out = steps_for(batch, keyring.identity.public.address, envelope_ids(store, batch.message_ids))
    if steps:
        home_journal(home, keyring).record_many(steps)
    return left_out
