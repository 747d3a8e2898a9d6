"""`pli demo`: a complete demo home, built from nothing in a few seconds.

    demo-home/                  the user's pli home (Dr Claire Martin): keyring, pads, store, config
    demo-home/demo-passphrase.txt   the demo keyring's passphrase (a demo: never do this for real)
    demo-home/peers/<name>/     the correspondents' own homes (labs, colleague), used to seal their mail

What it sets up, with the real envelope and store:
- identities: the user, a colleague (Dr Hugo Bernard), two labs, and a group
  practice (Cabinet des Tilleuls) the user belongs to;
- pads: the user shares one with the first lab and one with the colleague, so
  their mail arrives sealed with a one-time pad; the second lab has none and
  seals in stream mode;
- traffic: the lab generator's seeded reports, sealed by their lab to the user
  (a few to the group practice), a few sealed notes from the colleague, and a
  handful of bad mails (tampered, unsigned) that the import puts in quarantine;
- everything lands in the incoming Maildir and goes through the store's
  importer, as `pli new` would do it.

The same size and seed give the same messages on every machine (the envelope's
random parts differ, the content and dates do not).
"""
from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.identity import Identity
from pli.core.crypto.keyring import Keyring
from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.lab.generator import LABS, PRACTITIONERS, Generator
from pli.core.mail import conversation
from pli.core.mail.receive import receive
from pli.core.store.create import create_store
from pli.core.store.progress import Progress as StoreProgress
from pli.core.store.store import Store

DEFAULT_SIZE = 2000
DEFAULT_SEED = 2026
DEMO_PASSPHRASE = "pli demo passphrase (demo data only)"
PASSPHRASE_FILE = "demo-passphrase.txt"
MARKER = ".pli-demo"
PEER_KDF_LOG2N = 10          # peers only exist to seal the demo's mail: a cheap key derivation
LAB_PAD_BYTES = 8 << 20      # OTP for the first lab until this pad runs out, stream after (large demos)
COLLEAGUE_PAD_BYTES = 1 << 20
COLLEAGUE_NOTES = 6
BAD_MAILS = 4

Progress = Callable[[int, int, str], None]


class DemoExists(PliError):
    """The demo folder is in use by something that is not a pli demo."""


@dataclass(frozen=True)
class DemoResult:
    home: Home
    messages: int
    passphrase_file: Path
    reused: bool = False


@dataclass
class Party:
    """One correspondent with its own home and unlocked keyring (only in the demo builder)."""

    keyring: object
    address: str


def build_demo(directory: Path, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED,
               progress: Progress | None = None, now: datetime | None = None) -> DemoResult:
    """Build the demo home in `directory` (or reuse the one already there)."""
    home = Home(Path(directory).expanduser().resolve())
    passphrase_file = home.root / PASSPHRASE_FILE
    if (home.root / MARKER).exists():
        return DemoResult(home, _stored_count(home), passphrase_file, reused=True)
    if home.root.exists() and any(home.root.iterdir()):
        raise DemoExists(f"{home.root} exists and is not a pli demo: choose an empty or new folder")
    progress = progress or (lambda done, total, stage: None)
    end = (now or datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)
    try:
        user, parties = _people(home, passphrase_file, seed)
        count = _write_traffic(home, user, parties, size, seed, end, progress)
        _import(home, user.keyring, count, progress)
    except BaseException:
        shutil.rmtree(home.root, ignore_errors=True)  # a half-built demo would be reused next time
        raise
    _write_config(home)
    (home.root / MARKER).write_text(f"size={size} seed={seed}\n")
    return DemoResult(home, _stored_count(home), passphrase_file)


# -- people, keys and pads ----------------------------------------------------------------------


def demo_identity(seed: int, id: str, address: str, name: str, kind: str = "person"):
    """An identity whose keys derive from the demo seed: the same demo shows the same fingerprints
    on every machine (snapshots, screenshots).  Demo keys are public knowledge: demo data only."""
    def secret(use: str) -> bytes:
        return hashlib.sha256(f"pli demo {seed} {address} {use}".encode()).digest()

    return Identity.from_secrets(id, address, name, kind, secret("x25519"),
                                 secret("ed25519") if kind != "group" else None)


def _people(home: Home, passphrase_file: Path, seed: int) -> tuple[Party, dict[str, Party]]:
    me = PRACTITIONERS[0]
    create_store(home, f"Dr {me.given} {me.family}", me.address)
    # Demo data needs no crash safety: skipping the per-file fsync makes the import several times faster.
    home.config.write_text(home.config.read_text(encoding="utf-8").replace("fsync = true", "fsync = false"))
    home.root.mkdir(parents=True, exist_ok=True)
    passphrase_file.write_text(DEMO_PASSPHRASE + "\n")
    os.chmod(passphrase_file, 0o600)
    user = Party(Keyring.create(home, demo_identity(seed, me.code, me.address, f"Dr {me.given} {me.family}"),
                                DEMO_PASSPHRASE), me.address)
    colleague = PRACTITIONERS[1]
    specs = {
        "lab-otp": (LABS[0].code, LABS[0].address, LABS[0].name),
        "lab-stream": (LABS[1].code, LABS[1].address, LABS[1].name),
        "colleague": (colleague.code, colleague.address, f"Dr {colleague.given} {colleague.family}"),
    }
    parties = {}
    for name, (ident, address, display) in specs.items():
        peer_home = Home(home.root / "peers" / name)
        keyring = Keyring.create(peer_home, demo_identity(seed, ident, address, display), DEMO_PASSPHRASE,
                                 kdf_log2n=PEER_KDF_LOG2N)
        keyring.import_public(user.keyring.identity.public)
        user.keyring.import_public(keyring.identity.public)
        parties[name] = Party(keyring, address)
    group = demo_identity(seed, "MSP-TILLEULS", "secretariat@cabinet-tilleuls.example", "Cabinet des Tilleuls",
                          kind="group")
    user.keyring.add_group(group, user.keyring.identity.public.signing_fingerprint.hex())   # the user made it
    for name in ("lab-otp", "lab-stream"):
        parties[name].keyring.import_public(group.public)
    _share_pad(user, parties["lab-otp"], LAB_PAD_BYTES)
    _share_pad(user, parties["colleague"], COLLEAGUE_PAD_BYTES)
    return user, parties


def _share_pad(user: Party, other: Party, size: int) -> None:
    """A pad made by the user and handed to `other` (in real life on physical media)."""
    pad = user.keyring.new_pad([other.address], size)
    other.keyring.import_pad(user.keyring.export_pad(pad.id, other.address))


# -- traffic --------------------------------------------------------------------------------------


def _write_traffic(home: Home, user: Party, parties: dict[str, Party], size: int, seed: int,
                   end: datetime, progress: Progress) -> int:
    incoming = home.root / "incoming" / "new"
    by_lab = {LABS[0].code: parties["lab-otp"], LABS[1].code: parties["lab-stream"]}
    group = user.keyring.groups[0].public.address
    generator = Generator(seed, patients=max(40, size // 15), end=end, labs=LABS[:2],
                          practitioners=PRACTITIONERS[:1])
    total = size + COLLEAGUE_NOTES + BAD_MAILS
    written = 0
    for message in generator.messages(size):
        sender = by_lab[message.lab.code]
        to = [group] if message.index % 25 == 7 else [user.address]
        sealed = seal_mail(message.inner_bytes, sender.keyring, to, now=int(message.date.timestamp()))
        written = _drop(incoming, written, sealed)
        if written % 200 == 0:
            progress(written, total, "sealing lab results")
    for number, sealed in enumerate(_colleague_notes(user, parties["colleague"], end)):
        written = _drop(incoming, written, sealed)
    for raw in _bad_mails(user, parties, end):
        written = _drop(incoming, written, raw)
    progress(written, total, "sealing lab results")
    return written


def _drop(folder: Path, number: int, data: bytes) -> int:
    (folder / f"demo-{number:07d}.eml").write_bytes(data)
    return number + 1


def _note(sender: str, to: str, subject: str, body: str, when: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when.replace(tzinfo=timezone.utc))
    msg.set_content(body)
    return msg


NOTES = (
    ("Patiente FICTIF Zoé : kaliémie", "Claire, j'ai vu passer la kaliémie de Mme FICTIF. Je la rappelle ce soir."),
    ("Garde du week-end", "Je prends le samedi matin, tu peux prendre le dimanche ?"),
    ("Avis sur un ECG", "Je t'envoie le tracé demain, rien d'urgent."),
    ("Réunion de l'équipe", "Mardi 13 h à la maison de santé, ordre du jour en pièce jointe la prochaine fois."),
    ("Remplacement", "Le remplaçant arrive lundi ; il aura besoin de ses accès pli."),
    ("Merci", "Merci pour le dossier, tout est clair."),
)


def _colleague_notes(user: Party, colleague: Party, end: datetime):
    me = colleague.keyring.identity.public
    for number, (subject, body) in enumerate(NOTES[:COLLEAGUE_NOTES]):
        when = end - timedelta(days=3 * number, hours=2)
        inner = conversation.mark(_note(f"{me.name} <{me.address}>", user.address, subject, body, when))
        yield seal_mail(inner, colleague.keyring, [user.address], now=int(when.timestamp()))


def _bad_mails(user: Party, parties: dict[str, Party], end: datetime):
    """What quarantine is for: a tampered envelope, a forged sender, plain mail."""
    lab = parties["lab-stream"]
    inner = _note(f"{lab.keyring.identity.public.name} <{lab.address}>", user.address,
                  "Résultats FAUXNOM Paul", "Résultats en pièce jointe.", end - timedelta(hours=5))
    sealed = bytearray(seal_mail(inner, lab.keyring, [user.address], now=int((end - timedelta(hours=5)).timestamp())))
    middle = len(sealed) * 2 // 3
    sealed[middle] = ord("A") if sealed[middle] != ord("A") else ord("B")  # one base64 letter changed in transit
    yield bytes(sealed)
    plain = _note("Inconnu <phishing@unknown.example>", user.address, "Vos résultats urgents",
                  "Cliquez ici pour voir vos résultats.", end - timedelta(hours=1))
    yield bytes(plain)
    for hours in (30, 54):
        spoof = _note("Laboratoire <resultats@labo-estuaire.example>", user.address,
                      "Résultats (non scellés)", "Message non scellé.", end - timedelta(hours=hours))
        yield bytes(spoof)


# -- import and config ------------------------------------------------------------------------------


def _import(home: Home, keyring, count: int, progress: Progress) -> None:
    class Bridge(StoreProgress):
        def advance(self, done: int) -> None:
            self.done += done
            progress(self.done, self.total, "importing")

        def finish(self) -> None:
            progress(self.total, self.total, "importing")

    receive(home, None, keyring=keyring, progress=Bridge(None))


def _write_config(home: Home) -> None:
    text = home.config.read_text(encoding="utf-8") if home.config.exists() else ""
    text += ('\n[searches]\n"Dr Bernard" = "from:hugo.bernard@cabinet-demo.example"\n'
             '"Labo Estuaire" = "from:labo-estuaire.example and abnormal"\n')
    home.config.write_text(text, encoding="utf-8")


def _stored_count(home: Home) -> int:
    with Store.open(home) as store:
        return store.count("*")
