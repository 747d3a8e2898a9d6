"""Which way each recipient of a message goes, pli-sealed or MSSanté, and the MSSanté part sent: the one plan of
`pli send message` and of compose (docs/MSSANTE.md).

    plan = route(home, keyring, ["dr.b@example.org", "labo@op.mssante.fr"])
    plan.sealed                     # ["dr.b@example.org"]: seal_and_queue (core/mail/send.py)
    plan.mssante                    # ["labo@op.mssante.fr"]: not in pli's directory, listed in the MSSanté extract
    plan.lines()                    # the plan's MSSanté lines, each with its reason
    if needs_patient(inner):        # a PDF, an HPRIM file: the package must name its patient
        patient = patient_identity("FICTIF", "Zoé", "1965-04-12", ins="")
    send_mssante(home, keyring, inner, plan.mssante, patient)   # the documents as an IHE XDM package, or the
                                                                # text alone as ordinary MIME

A recipient pli can seal to is always sealed to (a revoked key is an error, never a fall back to MSSanté, see
recipient_reaches); MSSanté is only for an address pli has no key for and the imported extract lists.  MSSanté
mail is submitted at once through the MSSanté account, never queued: the caller refuses what it can (an unknown
recipient, a document without its patient) before anything is sent or sealed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pli.core.crypto.keyring import UnknownRecipient
from pli.core.directory.mssante_index import MSSANTE, MssDirectory, Reach, reach
from pli.core.errors import UsageError
from pli.core.home import Home
from pli.core.lab.cda import PatientId
from pli.core.mail.mssante_send import documents_of, send_documents, send_text, sender_for
from pli.core.xdm.compose import PatientIdentity, named_locally

INS_OID = "1.2.250.1.213.1.4.8"     # the INS-NIR (docs/MSSANTE.md)
_CDA_TYPES = ("text/xml", "application/xml")      # a CDA names its own patient (documents_of)


@dataclass(frozen=True)
class Route:
    """Each address of a message and how it travels (Reach: pli-sealed, MSSanté or unknown)."""

    reaches: dict[str, Reach]

    @property
    def mssante(self) -> list[str]:
        return [address for address, how in self.reaches.items() if how.tier == MSSANTE]

    @property
    def sealed(self) -> list[str]:
        """Everything else: pli seals to it, or says why it cannot (an unknown address stays an error)."""
        return [address for address, how in self.reaches.items() if how.tier != MSSANTE]

    def lines(self) -> list[str]:
        if not self.mssante:
            return []
        many = len(self.mssante) > 1
        return ([f"plan: {len(self.mssante)} MSSanté recipient{'s' if many else ''}, the documents in an IHE XDM "
                 "package, a text alone as ordinary mail"]
                + [f"  {a}: {self.reaches[a].label} ({self.reaches[a].why})" for a in self.mssante])


def route(home: Home, keyring, addresses: list[str]) -> Route:
    return Route(recipient_reaches(home, keyring, addresses))


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


def needs_patient(inner) -> bool:
    """Whether the message's attachments include a document that does not name its patient (all but a CDA)."""
    return any(part.get_content_type() not in _CDA_TYPES for part in inner.iter_attachments())


def patient_identity(family: str, given: str, born: str, ins: str = "") -> PatientIdentity:
    """The patient an XDM package names, from what the practitioner typed; UsageError naming the field."""
    family, given, born, ins = family.strip(), given.strip(), born.strip(), ins.strip()
    if not family or not given:
        raise UsageError("the patient's family and given names are both needed (the package names the patient)")
    try:
        birth = date.fromisoformat(born)
    except ValueError:
        raise UsageError(f"the birth date {born!r} is not a date written YYYY-MM-DD") from None
    if ins and not (ins.isdigit() and len(ins) == 15):
        raise UsageError(f"the INS {ins!r} is not an INS (15 digits; leave it empty when unknown)")
    return PatientIdentity(family, given, birth, ins=PatientId(INS_OID, ins) if ins else None)


def send_mssante(home: Home, keyring, inner, recipients: list[str], patient: PatientIdentity | None = None, *,
                 account: str | None = None) -> str:
    """Send `inner` (a message written for pli) to MSSanté recipients through the MSSanté account: its attachments
    as an IHE XDM package (a patient without INS named by the sender's local id), a message without attachment as
    ordinary MIME; the Message-ID sent.  UsageError (a document without its patient, an attachment that is no
    document) before anything is submitted."""
    sender = sender_for(home, keyring, account)
    text = _text_of(inner)
    if not any(True for _ in inner.iter_attachments()):
        return send_text(home, sender.address, recipients, str(inner.get("Subject", "")), text, account=account,
                         keyring=keyring)
    documents = documents_of(inner, named_locally(patient, sender) if patient is not None else None)
    return send_documents(home, documents, sender, recipients, account=account, keyring=keyring, body=text)


def _text_of(inner) -> str:
    body = inner.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""
