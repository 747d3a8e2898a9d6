"""MSSanté mail in pli's workflows: what an MSSanté account's fetch lets into the store, and its sessions.

    session = imap_session(home, account, keyring)   # None for an ordinary account: fetch logs in itself
    fetch(home, account, None, incoming, session=session)
    receive(home, None)                              # the import admits the MSSanté tier (admission below)
    done = after_fetch(home, keyring)                # MDNs/DSNs recorded on their Sent copy, MDNs asked for sent
    answer_consent(home, message_id, send=True, keyring=keyring)   # the user said yes to an MDN (tag mdn-confirm)
    reaches = recipient_reaches(home, keyring, ["dr.b@hopital.mssante.fr"])   # pli-sealed, MSSanté or unknown
    documents = documents_of(inner, patient)                                    # its attachments, for XDM
    sent = send_documents(home, documents, sender, ["dr.b@hopital.mssante.fr"], keyring=keyring)   # an XDM package,
                                                    # submitted, kept in Sent (tagged sent mssante), traced "sent"
    sent = send_text(home, "dr.a@op.mssante.fr", ["dr.b@hopital.mssante.fr"], "Question", "...", keyring=keyring)

MSSanté mail is transport-secured only (docs/MSSANTE.md, "Trust model"): it is
let into the inbox, tagged `mssante`, never `verified`, only when pli fetched it
itself from an account marked `mssante = true` (the incoming file's name says
which: `imap.<account>.<uidvalidity>.<uid>`, core/transport/fetch.py).  Plain
mail from anywhere else (the gateway, an ordinary account, `pli import`) keeps
the rule "only sealed mail"; a pli envelope arriving through an MSSanté account
is opened and verified by the usual import.
"""
from __future__ import annotations

import email.utils
import os
import re
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes
from email.parser import BytesHeaderParser
from email.policy import compat32

from pli.core import vocab as v
from pli.core.audit import home_journal
from pli.core.crypto.keyring import UnknownRecipient
from pli.core.directory.mssante_index import MSSANTE, MssDirectory, Reach, reach
from pli.core.errors import PliError, UsageError
from pli.core.home import Home
from pli.core.plural import counted
from pli.core.receipts.mdn import mdn_request
from pli.core.receipts.mssante import envelope_id, match_reports, mdn_answer, named_ids, normal_id
from pli.core.receipts.mssante_reports import record
from pli.core.receipts.notifications import MalformedNotification
from pli.core.store.layout import Layout
from pli.core.store.sources import Source
from pli.core.store.store import MessageNotFound, SentFacts, Store
from pli.core.store.summary import key_of
from pli.core.store.worker import Admitted
from pli.core.transport.accounts import Account, AccountError, load_accounts
from pli.core.transport.mssante_account import credentials, load_mss_accounts, open_imap, open_smtp
from pli.core.transport.outbox import queue_key
from pli.core.transport.submission import crlf
from pli.core.xdm.compose import OutgoingDocument, PatientIdentity, Sender, cda_document, file_document
from pli.core.xdm.mail import document_mail, text_mail
from pli.core.xdm.metadata import Code
from pli.core.xdm.received import TIER, read_received

_FETCHED = re.compile(r"imap\.(?P<account>.+)\.\d+\.\d+")


def fetched_from(path: str, incoming: str) -> str:
    """The account a file of the incoming Maildir was fetched from ("" for any other file)."""
    folder, name = os.path.split(path)
    if os.path.dirname(folder) != incoming or os.path.basename(folder) not in ("new", "cur"):
        return ""
    found = _FETCHED.fullmatch(name.split(":", 1)[0])
    return found.group("account") if found else ""


@dataclass(frozen=True)
class MssAdmission:
    """WorkerContext.admit for a home with MSSanté accounts (runs in the import's workers)."""

    accounts: frozenset[str]
    incoming: str

    def __call__(self, source: Source, raw: bytes) -> Admitted | None:
        account = fetched_from(source.path, self.incoming)
        if account not in self.accounts:
            return None
        received = read_received(raw)
        if received.tier != TIER:
            return None
        tags = set(received.tags)
        if received.mdn is not None and not received.is_report:
            tags.add(v.MDN_DUE)
        if received.is_report:             # an MDN or DSN: matched with its Sent copy after the import
            tags |= {v.REPORT, v.REPORT_DUE}
        properties = received.properties + ((v.ACCOUNT_PROPERTY, account),)
        return Admitted(TIER, tuple(sorted(tags)), properties, received.lab)


def admission(home: Home) -> MssAdmission | None:
    """The admission of the home's MSSanté accounts' mail, or None when it has none."""
    names = frozenset(load_mss_accounts(home))
    return MssAdmission(names, str(Layout(home).incoming)) if names else None


def imap_session(home: Home, account: Account, keyring=None):
    """For an MSSanté account, what opens its logged-in IMAP session (checked TLS, its own login); else None."""
    mss = load_mss_accounts(home, {account.name: account}).get(account.name)
    if mss is None:
        return None
    secrets = credentials(home, account, mss, "imap", keyring)
    return lambda: open_imap(mss, secrets)


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
            raw = _as_received(store, message_id)
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
                _submit(home, accounts[name], mss[name], keyring, answer.mail, [answer.to])
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
        request = mdn_request(message_from_bytes(_as_received(store, message_id), policy=compat32))
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
        raw = _as_received(store, message_id)
        if not send:
            store.tag([message_id], add=(v.MDN_DECLINED,), remove=(v.MDN_CONFIRM,))
            if journal is not None:
                _record(journal, "receipt-declined", _received_id(raw), receipt="mdn", via=TIER)
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
        _submit(home, accounts[name], mss[name], keyring, answer.mail, [answer.to])
        store.tag([message_id], add=(v.MDN_SENT,), remove=(v.MDN_CONFIRM,))
    _trace_mdn(journal, raw, answer)
    return f"read receipt sent to {answer.to}"


def _as_received(store: Store, message_id: str) -> bytes:
    """A stored MSSanté mail's bytes as the operator gave them (the clear copy has pli's own Message-ID)."""
    return store.layout.sealed_path(key_of(str(store.clear_path(message_id)))).read_bytes()


def _received_id(raw: bytes) -> str:
    """The Message-ID a received mail was traced under ("fetched"), without <>."""
    return normal_id(str(BytesHeaderParser(policy=compat32).parsebytes(raw).get("Message-ID", ""))) or "unknown"


def _trace_mdn(journal, raw: bytes, answer) -> None:
    if journal is not None:
        _record(journal, "receipt-sent", _received_id(raw), receipt="mdn", recipient=answer.to, via=TIER,
                status="processed/error" if answer.error else "processed")


# -- MDNs and DSNs that come back about mail sent ------------------------------------------------------------

@dataclass
class ReportsReport:
    matched: int = 0                                        # notifications recorded on a Sent copy
    unmatched: list[str] = field(default_factory=list)      # one line per report about no mail sent (said once)
    failed: list[str] = field(default_factory=list)         # left report-due for the next run

    def render(self) -> str:
        lines = [f"{counted(self.matched, 'MSSanté report')} recorded on sent mail"] if self.matched else []
        return "\n".join(lines + self.unmatched + self.failed)


def record_reports(home: Home, keyring=None) -> ReportsReport:
    """Match each MDN and DSN fetched from an MSSanté account (tag report-due) with the Sent copy of the mail it
    is about (receipts.mssante.match_reports: Original-Message-ID, a DSN's returned headers or its
    Original-Envelope-Id, else the report's In-Reply-To/References),
    record it there (receipts.mssante_reports: the receipts line, `pli receipts show`) and trace
    "receipt-received" on the sent mail.  A matched report leaves the inbox (tag report); one about no mail sent,
    or unreadable, stays in the inbox tagged report-unmatched and is said once, here."""
    report = ReportsReport()
    journal = home_journal(home, keyring) if keyring is not None else None
    with Store.open(home, writable=True) as store:
        for message_id in store.message_ids(f"tag:{v.REPORT_DUE}"):
            raw = _as_received(store, message_id)
            try:
                matches = match_reports(raw, [i for i in named_ids(raw) if _sent_mssante(store, i)])
            except MalformedNotification as error:
                store.tag([message_id], add=(v.REPORT_UNMATCHED,), remove=(v.REPORT_DUE,))
                report.unmatched.append(f"unreadable MSSanté report kept in the inbox (id:{message_id}): "
                                        f"{error.message}")
                continue
            try:
                recorded = _record_matches(store, journal, matches, _written(raw))
            except MessageNotFound as error:
                report.failed.append(f"MSSanté report id:{message_id} not recorded yet: {error.message}")
                continue
            if not any(match.original_message_id for match in matches):
                store.tag([message_id], add=(v.REPORT_UNMATCHED,), remove=(v.REPORT_DUE,))
                about = ", ".join(m.notification.original_message_id for m in matches
                                  if m.notification.original_message_id) or "no Message-ID"
                report.unmatched.append(f"an MSSanté report about mail not in Sent ({about}) is kept in the inbox: "
                                        f"id:{message_id}")
                continue
            store.tag([message_id], remove=(v.REPORT_DUE, v.INBOX, v.UNREAD))
            report.matched += recorded
    return report


def _sent_mssante(store: Store, message_id: str) -> bool:
    try:
        tags = store.summary(message_id).tags
    except MessageNotFound:
        return False
    return v.SENT in tags and v.MSSANTE in tags


def _record_matches(store: Store, journal, matches, when: datetime) -> int:
    recorded = 0
    for match in matches:
        if not match.original_message_id:
            continue
        sent_id = normal_id(match.original_message_id)
        notice = match.notification
        if not record(store.layout, sent_id, notice, when):
            continue                                # a second copy of the same report
        recorded += 1
        if journal is not None:
            _record(journal, "receipt-received", sent_id, receipt=f"mss-{notice.kind}", via=TIER,
                    recipient=notice.recipient or "?",
                    status=" ".join(p for p in (notice.action, notice.status) if p))
    return recorded


def _written(raw: bytes) -> datetime:
    """When a report was written (its Date, a zone-less one read as UTC), else now."""
    date = str(BytesHeaderParser(policy=compat32).parsebytes(raw)["Date"] or "")
    try:   # a comment such as "(EDT)" before the zone hides the zone from the parser: dropped first
        when = email.utils.parsedate_to_datetime(re.sub(r"\([^()]*\)", " ", date))
    except (TypeError, ValueError, IndexError):
        return datetime.now(timezone.utc)
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def after_fetch(home: Home, keyring=None) -> "FetchFollowUp":
    """What `pli fetch` of an MSSanté account does once the mail is stored: the MDNs and DSNs that came back
    recorded with the sent mail (record_reports), the MDNs asked for answered (answer_mdns)."""
    return FetchFollowUp(record_reports(home, keyring), answer_mdns(home, keyring))


@dataclass
class FetchFollowUp:
    reports: ReportsReport
    mdns: MdnReport

    @property
    def failed(self) -> list[str]:
        return self.mdns.failed + self.reports.failed

    def render(self) -> str:
        return "\n".join(part for part in (self.reports.render(), self.mdns.render()) if part)


def send_documents(home: Home, documents: list[OutgoingDocument], sender: Sender, recipients: list[str], *,
                   account: str | None = None, keyring=None, body: str = "", receipt: bool = True) -> str:
    """Send documents about one patient (a PDF, a CDA) to MSSanté addresses as an IHE XDM package
    (document_mail), submitted through the MSSanté account (`account`, else the only one), kept in Sent
    (send_kept); its Message-ID.  XdmRefused before anything is sent when the documents cannot go in one package."""
    name = _account_name(home, account)
    mail = document_mail(documents, sender, recipients, body=body, receipt=receipt)
    return send_kept(home, name, mail, recipients, keyring)


def send_text(home: Home, sender: str, recipients: list[str], subject: str, body: str, *,
              account: str | None = None, keyring=None, receipt: bool = True) -> str:
    """Send a plain-text mail to MSSanté addresses (text_mail: ordinary MIME, nothing packaged), through the
    MSSanté account, kept in Sent (send_kept); its Message-ID."""
    name = _account_name(home, account)
    return send_kept(home, name, text_mail(sender, recipients, subject, body, receipt=receipt), recipients, keyring)


def send_kept(home: Home, account: str, mail, recipients: list[str], keyring=None) -> str:
    """Submit an MSSanté mail through `account` (asking for DSNs when the operator offers them), trace "sent"
    (via mssante, the operator's server), then keep its copy in Sent (Store.add_sent_unsealed: tagged `sent
    mssante`, never verified, its Message-ID kept for the MDNs and DSNs that name it).  With no keyring there is
    no trace to sign: only the copy is kept.

    A trace that was cut is refused before anything is submitted, as for sealed mail; a copy that cannot be
    kept after the operator took the mail is said in the error (the mail is gone: sending again duplicates it)."""
    accounts = load_accounts(home)
    mss = load_mss_accounts(home, accounts)
    journal = home_journal(home, keyring) if keyring is not None else None
    if journal is not None:
        journal.check()
    _submit(home, accounts[account], mss[account], keyring, mail, recipients, "the mail", dsn=True)
    message_id = str(mail["Message-ID"])
    if journal is not None:    # what happened first: the operator took it
        _record(journal, "sent", message_id, via=TIER, server=str(mss[account].smtp), recipients=list(recipients))
    raw = mail.as_bytes()      # LF line ends, as the store keeps mail; the operator got these bytes in CRLF
    if (home.mail / ".notmuch").is_dir():
        facts = SentFacts(sender=mss[account].address, mode=TIER, envelope_id="", recipients=tuple(recipients),
                          tags=(v.MSSANTE,))
        try:
            with Store.open(home, writable=True) as store:
                store.add_sent_unsealed(queue_key(raw), raw, facts)
        except (PliError, OSError) as error:
            reason = error.message if isinstance(error, PliError) else (error.strerror or type(error).__name__)
            raise SentNotKept(f"{message_id} was sent to {', '.join(recipients)}, but its copy could not be kept "
                              f"in Sent ({reason}): do not send it again; `pli doctor` checks the store") from None
    return message_id


class SentNotKept(PliError):
    """The operator took an MSSanté mail, but its Sent copy could not be written: the mail is not to be sent again."""


def _account_name(home: Home, account: str | None) -> str:
    """The MSSanté account to send through: `account`, else the home's only one; AccountError otherwise."""
    mss = load_mss_accounts(home)
    name = account or (next(iter(mss)) if len(mss) == 1 else "")
    if name not in mss:
        raise AccountError(f"{'no MSSanté account ' + repr(name) if name else 'no single MSSanté account'} in "
                           f"{home.config}: mark one account `mssante = true` or name it (docs/MSSANTE.md)")
    return name


def _record(journal, step: str, message_id: str, **details) -> None:
    """A trace step named by a mail's Message-ID (without <>, as `pli fetch` traces MSSanté mail)."""
    journal.record(step, normal_id(message_id), **details)


def _submit(home: Home, account: Account, mss, keyring, mail, recipients: list[str], what: str = "the MDN",
            dsn: bool = False) -> None:
    """Submit `mail`; with `dsn`, asks the operator, when it offers DSN (RFC 3461), for a report of failures and
    delays naming the mail by its Message-ID (ENVID), with its headers only (RET=HDRS)."""
    smtp = open_smtp(mss, credentials(home, account, mss, "smtp", keyring))
    try:
        options = dsn and smtp.has_extn("dsn")
        smtp.sendmail(mss.address, recipients, crlf(mail.as_bytes()),
                      [f"ENVID={envelope_id(str(mail['Message-ID']))}", "RET=HDRS"] if options else (),
                      ["NOTIFY=FAILURE,DELAY"] if options else ())
    except (OSError, smtplib.SMTPException) as error:
        raise MdnNotSent(f"{mss.smtp} did not take {what} to {', '.join(recipients)}: {_reason(error)}") from None
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass


class MdnNotSent(PliError):
    """The operator did not take an MDN (or a mail): `pli fetch` tries the MDN again."""

    exit_code = 75


def _reason(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {error.smtp_error.decode('utf-8', 'replace') if isinstance(error.smtp_error, bytes) else error.smtp_error}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "the recipient was refused"
    return getattr(error, "strerror", None) or type(error).__name__


# -- sending to MSSanté recipients --------------------------------------------------------------------------

#: A document's type when the sender names none (LOINC 11488-4, "Consult note"; the CI-SIS type codes are LOINC).
CONSULT_NOTE = Code("11488-4", "2.16.840.1.113883.6.1", "Note de consultation")
_DOCUMENT_TYPES = ("application/pdf", "text/xml", "application/xml", "text/x-hprim", "application/hl7-v2",
                   "text/plain", "image/jpeg", "image/png")


def recipient_reaches(home: Home, keyring, addresses: list[str]) -> dict[str, Reach]:
    """How mail to each address travels: pli-sealed when the keyring or the signed directory has its keys (a
    revoked key is an error, never a fall back to MSSanté), else MSSanté when the imported extract lists it, else
    unknown.  The MSSanté index is opened only for an address pli cannot seal to."""
    directory = None
    found = {}
    try:
        for address in addresses:
            sealed = _sealable(keyring, address)
            if not sealed and directory is None and home.mssante_index.exists():
                directory = MssDirectory(home.mssante_index)
            mailbox = directory.lookup(address) if directory is not None and not sealed else None
            found[address] = reach(address, sealed=sealed, mailbox=mailbox)
    finally:
        if directory is not None:
            directory.close()
    return found


def _sealable(keyring, address: str) -> bool:
    try:
        for member in keyring.expand(address):
            keyring.reach(member)
    except UnknownRecipient:
        return False
    return True


def mssante_only(reaches: dict[str, Reach]) -> list[str]:
    return [address for address, how in reaches.items() if how.tier == MSSANTE]


def documents_of(inner, patient: PatientIdentity | None, type_code: Code = CONSULT_NOTE) -> list[OutgoingDocument]:
    """The attachments of a message written for pli, as the documents of an XDM package: a CDA describes itself
    (its patient, type and title from its header); any other document needs the patient the sender names."""
    documents = []
    for part in inner.iter_attachments():
        # the bytes as attached: get_content() decodes a text/xml part by its charset (none: ASCII, each other
        # byte replaced), which changed the CDA, its patient's name and its hash
        data, mime = part.get_payload(decode=True) or b"", part.get_content_type()
        if mime not in _DOCUMENT_TYPES:
            raise UsageError(f"the attachment {part.get_filename() or mime} ({mime}) is not a document an MSSanté "
                             f"package carries ({', '.join(_DOCUMENT_TYPES)})")
        if mime in ("text/xml", "application/xml"):
            documents.append(cda_document(data))
            continue
        if patient is None:
            raise UsageError(f"the attachment {part.get_filename() or mime} needs the patient it is about: "
                             "give --patient (and --ins when known)")
        title = os.path.splitext(part.get_filename() or "")[0] or str(inner.get("Subject", "")) or "Document"
        documents.append(file_document(data, mime, title, type_code, patient))
    if not documents:
        raise UsageError("mail to an MSSanté address carries documents (a PDF, a CDA, an HPRIM file): this message "
                         "has no attachment")
    return documents


def sender_for(home: Home, keyring, account: str | None = None) -> Sender:
    """The author the package names: the MSSanté account's address, the keyring's RPPS and name."""
    mss = load_mss_accounts(home)
    name = account if account in mss else (next(iter(mss)) if len(mss) == 1 else "")
    me = keyring.identity.public
    family, _, given = (me.name or "").removeprefix("Dr ").rpartition(" ")
    return Sender(address=mss[name].address if name else me.address,
                  rpps=me.id if re.fullmatch(r"\d{11}", me.id or "") else "",
                  family=family or given, given=given if family else "")

