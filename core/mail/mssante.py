"""MSSanté mail in pli's workflows: what an MSSanté account's fetch lets into the store, and its sessions.

    session = imap_session(home, account, keyring)   # None for an ordinary account: fetch logs in itself
    fetch(home, account, None, incoming, session=session)
    receive(home, None)                              # the import admits the MSSanté tier (admission below)
    report = answer_mdns(home, keyring)              # the MDNs the stored mail asked for, submitted
    reaches = recipient_reaches(home, keyring, ["dr.b@hopital.mssante.fr"])   # pli-sealed, MSSanté or unknown
    documents = documents_of(inner, patient)                                    # its attachments, for XDM
    sent = send_documents(home, documents, sender, ["dr.b@hopital.mssante.fr"])   # an XDM package, submitted
    sent = send_text(home, sender, ["dr.b@hopital.mssante.fr"], "Question", "Bonjour...")   # ordinary MIME

MSSanté mail is transport-secured only (docs/MSSANTE.md, "Trust model"): it is
let into the inbox, tagged `mssante`, never `verified`, only when pli fetched it
itself from an account marked `mssante = true` (the incoming file's name says
which: `imap.<account>.<uidvalidity>.<uid>`, core/transport/fetch.py).  Plain
mail from anywhere else (the gateway, an ordinary account, `pli import`) keeps
the rule "only sealed mail"; a pli envelope arriving through an MSSanté account
is opened and verified by the usual import.
"""
from __future__ import annotations

import os
import re
import smtplib
from dataclasses import dataclass, field

from pli.core import vocab as v
from pli.core.crypto.keyring import UnknownRecipient
from pli.core.directory.mssante_index import MSSANTE, MssDirectory, Reach, reach
from pli.core.errors import PliError, UsageError
from pli.core.home import Home
from pli.core.plural import counted
from pli.core.receipts.mssante import mdn_answer
from pli.core.store.layout import Layout
from pli.core.store.sources import Source
from pli.core.store.store import Store
from pli.core.store.summary import key_of
from pli.core.store.worker import Admitted
from pli.core.transport.accounts import Account, AccountError, load_accounts
from pli.core.transport.mssante_account import credentials, load_mss_accounts, open_imap, open_smtp
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
    was fetched from (open_smtp): `processed`, or `processed/error` 906 when pli could not read what was sent.

    A request that needs the user's consent (the address is not the Return-Path) is tagged mdn-confirm and left
    for the user; a failed submission leaves the tag mdn-due for the next run, and says why in one line."""
    report = MdnReport()
    accounts = load_accounts(home)
    mss = load_mss_accounts(home, accounts)
    layout = Layout(home)
    with Store.open(home, writable=True) as store:
        for message_id in store.message_ids(f"tag:{v.MDN_DUE}"):
            name = next(iter(store.property_values(message_id, v.ACCOUNT_PROPERTY)), "")
            raw = layout.sealed_path(key_of(str(store.clear_path(message_id)))).read_bytes()
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
            report.sent.append(answer.to)
    return report


def send_documents(home: Home, documents: list[OutgoingDocument], sender: Sender, recipients: list[str], *,
                   account: str | None = None, keyring=None, body: str = "", receipt: bool = True) -> str:
    """Send documents about one patient (a PDF, a CDA) to MSSanté addresses as an IHE XDM package
    (document_mail), submitted through the MSSanté account (`account`, else the only one); its Message-ID.
    XdmRefused before anything is sent when the documents cannot go in one package."""
    accounts = load_accounts(home)
    mss = load_mss_accounts(home, accounts)
    name = account or (next(iter(mss)) if len(mss) == 1 else "")
    if name not in mss:
        raise AccountError(f"{'no MSSanté account ' + repr(name) if name else 'no single MSSanté account'} in "
                           f"{home.config}: mark one account `mssante = true` or name it (docs/MSSANTE.md)")
    mail = document_mail(documents, sender, recipients, body=body, receipt=receipt)
    _submit(home, accounts[name], mss[name], keyring, mail, recipients, "the mail")
    return str(mail["Message-ID"])


def send_text(home: Home, sender: Sender, recipients: list[str], subject: str, body: str, *,
              account: str | None = None, keyring=None, receipt: bool = True) -> str:
    """A message without documents to MSSanté addresses: ordinary MIME (text_mail), submitted as send_documents
    submits its package; its Message-ID."""
    accounts = load_accounts(home)
    mss = load_mss_accounts(home, accounts)
    name = account or (next(iter(mss)) if len(mss) == 1 else "")
    if name not in mss:
        raise AccountError(f"{'no MSSanté account ' + repr(name) if name else 'no single MSSanté account'} in "
                           f"{home.config}: mark one account `mssante = true` or name it (docs/MSSANTE.md)")
    mail = text_mail(sender.address, recipients, subject, body, receipt=receipt)
    _submit(home, accounts[name], mss[name], keyring, mail, recipients, "the mail")
    return str(mail["Message-ID"])


def _submit(home: Home, account: Account, mss, keyring, mail, recipients: list[str], what: str = "the MDN") -> None:
    smtp = open_smtp(mss, credentials(home, account, mss, "smtp", keyring))
    try:
        smtp.sendmail(mss.address, recipients, crlf(mail.as_bytes()))
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

