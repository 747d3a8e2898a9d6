"""Answering the MDNs MSSanté mail asks for (RFC 8098): at once, or once the user consents.

    report = answer_mdns(home, keyring)             # each stored mail tagged mdn-due: its MDN submitted
    asked = consent_asked(home, message_id)         # the address a mail waiting for consent asks one for, or ""
    answer_consent(home, message_id, send=True, keyring=keyring)   # the user said yes (tag mdn-confirm)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from email import message_from_bytes
from email.parser import BytesHeaderParser
from email.policy import compat32

from pli.core import vocab as v
from pli.core.audit import home_journal
from pli.core.errors import PliError, UsageError
from pli.core.home import Home
from pli.core.mail.mssante_admission import as_received
from pli.core.mail.mssante_send import submit, trace_step
from pli.core.plural import counted
from pli.core.receipts.mdn import mdn_request
from pli.core.receipts.mssante import mdn_answer, normal_id
from pli.core.store.store import Store
from pli.core.transport.accounts import AccountError, load_accounts
from pli.core.transport.mssante_account import load_mss_accounts
from pli.core.xdm.received import TIER, read_received

@dataclass
class MdnReport:
    sent: list[str] = field(default_factory=list)          # the addresses answered
    to_confirm: int = 0                                     # waiting for the user's consent (tag mdn-confirm)
    failed: list[str] = field(default_factory=list)         # one line each; the mail stays mdn-due

    def render(self) -> str:
        parts = [f"{counted(len(self.sent), 'MDN')} sent"] if self.sent else []
        if self.to_confirm:
            parts.append(f"{self.to_confirm} waiting for your consent (`pli search tag:{v.MDN_CONFIRM}`)")
        parts += [f"MDN not sent: {line}" for line in self.failed]
        return "\n".join(parts)


def answer_mdns(home: Home, keyring=None) -> MdnReport:
    """The RFC 8098 MDN of each stored MSSanté mail that asks one (tag mdn-due), submitted through the account it
    was fetched from (open_smtp): `processed`, or `processed/error` 906 when pli could not read what was sent;
    traced "receipt-sent" on the received mail (with a keyring to sign the trace).

    A request that needs the user's consent (the address is not the Return-Path) is tagged mdn-confirm and left
    for the user (answer_consent); a failed submission leaves the tag mdn-due for the next run, and says why in
    one line."""
    report = MdnReport()
    accounts = load_accounts(home)
    mss = load_mss_accounts(home, accounts)
    journal = home_journal(home, keyring) if keyring is not None else None
    with Store.open(home, writable=True) as store:
        for message_id in store.message_ids(f"tag:{v.MDN_DUE}"):
            name = next(iter(store.property_values(message_id, v.ACCOUNT_PROPERTY)), "")
            raw = as_received(store, message_id)
            if name not in mss:
                report.failed.append(f"the account {name!r} of a stored MSSanté mail is no longer an MSSanté "
                                     "account in config.toml")
                continue
            answer = mdn_answer(raw, mss[name].address, problems=read_received(raw).problems)
            if answer is None:
                store.tag([message_id], remove=(v.MDN_DUE,))
                continue
            if answer.needs_confirmation:
                store.tag([message_id], add=(v.MDN_CONFIRM,), remove=(v.MDN_DUE,))
                report.to_confirm += 1
                continue
            try:
                submit(home, accounts[name], mss[name], keyring, answer.mail, [answer.to])
            except PliError as error:
                report.failed.append(error.message)
                continue
            store.tag([message_id], add=(v.MDN_SENT,), remove=(v.MDN_DUE,))
            _trace_mdn(journal, raw, answer)
            report.sent.append(answer.to)
    return report


def consent_asked(home: Home, message_id: str) -> str:
    """The address a stored MSSanté mail asks a read receipt for, when it waits for the user's consent (tag
    mdn-confirm, RFC 8098 §2.1); "" for any other mail."""
    with Store.open(home) as store:
        if v.MDN_CONFIRM not in store.summary(message_id).tags:
            return ""
        request = mdn_request(message_from_bytes(as_received(store, message_id), policy=compat32))
    return request.to if request is not None else ""


def answer_consent(home: Home, message_id: str, send: bool, keyring=None) -> str:
    """The user's answer to a read receipt asked for with consent: `send` submits it (manual-action) through the
    account the mail came from and tags it mdn-sent; otherwise it is tagged mdn-declined and never asked again.
    Both are traced on the received mail.  One line saying what was done; UsageError when nothing waits."""
    journal = home_journal(home, keyring) if keyring is not None else None
    with Store.open(home, writable=True) as store:
        if v.MDN_CONFIRM not in store.summary(message_id).tags:
            raise UsageError(f"no read receipt waits for your consent on id:{message_id} "
                             f"(`pli search tag:{v.MDN_CONFIRM}` lists those that do)")
        raw = as_received(store, message_id)
        if not send:
            store.tag([message_id], add=(v.MDN_DECLINED,), remove=(v.MDN_CONFIRM,))
            if journal is not None:
                trace_step(journal, "receipt-declined", _received_id(raw), receipt="mdn", via=TIER)
            return "read receipt declined: it will not be asked again"
        accounts = load_accounts(home)
        mss = load_mss_accounts(home, accounts)
        name = next(iter(store.property_values(message_id, v.ACCOUNT_PROPERTY)), "")
        if name not in mss:
            raise AccountError(f"the account {name!r} this mail came from is no longer an MSSanté account in "
                               f"{home.config}: the read receipt cannot go back through it")
        answer = mdn_answer(raw, mss[name].address, problems=read_received(raw).problems, manual=True)
        if answer is None:
            store.tag([message_id], remove=(v.MDN_CONFIRM,))
            return "this mail asks for no read receipt any more"
        submit(home, accounts[name], mss[name], keyring, answer.mail, [answer.to])
        store.tag([message_id], add=(v.MDN_SENT,), remove=(v.MDN_CONFIRM,))
    _trace_mdn(journal, raw, answer)
    return f"read receipt sent to {answer.to}"


def _received_id(raw: bytes) -> str:
    """The Message-ID a received mail was traced under ("fetched"), without <>."""
    return normal_id(str(BytesHeaderParser(policy=compat32).parsebytes(raw).get("Message-ID", ""))) or "unknown"


def _trace_mdn(journal, raw: bytes, answer) -> None:
    if journal is not None:
        trace_step(journal, "receipt-sent", _received_id(raw), receipt="mdn", recipient=answer.to, via=TIER,
                status="processed/error" if answer.error else "processed")
