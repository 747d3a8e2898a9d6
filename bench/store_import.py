"""Store import speed: pli importing sealed lab mail vs notmuch on the same messages, in the same run.

    .venv/bin/python bench/store_import.py [--count 10000] [--pgp 2000] [--large 100000] [--dir DIR]

Builds (generation time excluded from every figure):
  * COUNT lab messages from pli.core.lab.generator, sealed by a correspondent to the
    benchmark's home (otp while a shared 16 MiB pad lasts, then stream: pli's default);
  * the same inner messages in clear, in a Maildir, for `notmuch new`;
  * the first PGP of them encrypted as PGP/MIME with gpg (a throwaway GNUPGHOME, a
    no-passphrase key, `gpg --multifile` in batch), for `notmuch new --decrypt=true`.
Then times, back to back (wall clock, and the CPU of each run's processes from their rusage): `notmuch new` (clear), `notmuch new --decrypt=true` (PGP/MIME),
and `pli import` of the sealed copies (a real subprocess, the CLI's defaults: one
worker per core, one writer).  Each timed run starts from an empty index.
With --large N: `pli import` of N sealed messages (stream mode, no pad), its rate
per tenth of the run (is it flat?).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.identity import Identity
from pli.core.crypto.keyring import Keyring
from pli.core.crypto.pairing import introduce, share_pad
from pli.core.home import Home
from pli.core.lab.generator import Generator
from pli.core.store import create_store

PASSPHRASE = "bench passphrase"
CLI = [sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())"]
PAD_BYTES = 16 << 20


def keyrings(root: Path, pad: bool) -> tuple[Keyring, Keyring]:
    lab = Keyring.create(Home(root / "lab"), Identity.generate("10000000001", "lab@pli.bench", "Lab Bench"),
                         PASSPHRASE, kdf_log2n=10)
    doctor = Keyring.create(Home(root / "doctor"), Identity.generate("10000000002", "doctor@pli.bench",
                                                                       "Dr Bench"), PASSPHRASE, kdf_log2n=10)
    introduce(lab, doctor)
    if pad:
        share_pad(lab, [doctor], PAD_BYTES)
    return lab, doctor


def maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def build(root: Path, count: int, pad: bool, clear: bool) -> tuple[Home, Path, Path | None, list[bytes]]:
    """The doctor's home (keyring, store), the sealed Maildir, the clear Maildir, the clear inner messages."""
    lab, doctor = keyrings(root, pad)
    create_store(doctor.home)
    sealed = maildir(root / "sealed")
    plain = maildir(root / "clear" / "inbox") if clear else None
    inners = []
    for i, m in enumerate(Generator(2026, patients=2000).messages(count)):
        (sealed / "new" / f"{i:07d}.bench").write_bytes(seal_mail(m.inner_bytes, lab, ["doctor@pli.bench"]))
        if plain is not None:
            (plain / "new" / f"{i:07d}.bench").write_bytes(m.inner_bytes)
            inners.append(m.inner_bytes)
        if i % 5000 == 4999:
            print(f"  sealed {i + 1:,}", file=sys.stderr, flush=True)
    return doctor.home, sealed, plain, inners


def pgp_copies(root: Path, inners: list[bytes]) -> tuple[Path, dict]:
    """PGP/MIME copies of `inners` (RFC 3156) encrypted to a fresh no-passphrase key."""
    gnupg = root / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(gnupg)}
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "doctor@pli.bench", "default",
                    "default", "never"], env=env, check=True, capture_output=True)
    entities = root / "entities"
    entities.mkdir()
    heads = []
    for i, inner in enumerate(inners):
        head, _, body = inner.partition(b"\n\n")
        lines = re.split(rb"\n(?![ \t])", head)
        mime = [l for l in lines if l.lower().startswith((b"content-", b"mime-version"))]
        top = [l for l in lines if l not in mime]
        (entities / f"{i:07d}").write_bytes(b"\n".join(l for l in mime if not l.lower().startswith(b"mime-"))
                                            + b"\n\n" + body)
        heads.append(top)
    files = sorted(str(p) for p in entities.iterdir())
    subprocess.run(["gpg", "--batch", "--yes", "--trust-model", "always", "-r", "doctor@pli.bench", "--armor",
                    "--encrypt", "--multifile", *files], env=env, check=True, capture_output=True)
    out = maildir(root / "pgp" / "inbox")
    boundary = b"pgp-bench-boundary"
    for i, top in enumerate(heads):
        armored = (entities / f"{i:07d}.asc").read_bytes()
        (out / "new" / f"{i:07d}.bench").write_bytes(
            b"\n".join(top) + b"\nMIME-Version: 1.0\nContent-Type: multipart/encrypted; "
            b'protocol="application/pgp-encrypted"; boundary="' + boundary + b'"\n\n'
            b"--" + boundary + b"\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
            b"--" + boundary + b'\nContent-Type: application/octet-stream; name="encrypted.asc"\n\n'
            + armored + b"\n--" + boundary + b"--\n")
    return out.parent, env


def set_aside(path: Path) -> None:
    """Move a previous run's output out of the way, deleted only when every run is timed.

    Deleting it here would slow the next run: ext4 without a journal (this CI
    machine's root) skips recently freed inodes when it creates a file, scanning
    them one by one for a minute or more, which made the second round's 20,000
    new files cost ~0.6 ms each instead of ~0.03 (notmuch new creates almost
    none, so it was pli alone that paid).
    """
    if path.exists():
        trash = path.parent / ".set-aside"
        trash.mkdir(exist_ok=True)
        path.rename(trash / f"{path.name}.{time.monotonic_ns()}")


def children_cpu() -> float:
    """CPU seconds (user + system) of every child process waited for so far: `notmuch new`, or
    `pli import` with its worker processes (they are its children, waited for before it exits)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def notmuch_new(mail_root: Path, extra: list[str], env: dict | None = None) -> float:
    set_aside(mail_root / ".notmuch")
    config = mail_root.parent / f"{mail_root.name}-notmuch-config"
    config.write_text(f"[database]\npath={mail_root}\n[new]\ntags=inbox;unread;\n"
                      "[maildir]\nsynchronize_flags=false\n")
    env = {**(env or os.environ), "NOTMUCH_CONFIG": str(config)}
    started = time.perf_counter()
    subprocess.run(["notmuch", "new", "--quiet", *extra], env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def fresh_store(home: Home) -> None:
    for path in (home.mail, home.root / "sealed", home.root / "notmuch-config", home.root / "pads" / "seen"):
        set_aside(path)
    create_store(home)


def cpu_of(run, *args) -> tuple:
    """What `run(*args)` returns, and the CPU seconds its child processes used."""
    before = children_cpu()
    result = run(*args)
    return result, children_cpu() - before


def pli_import(home: Home, source: Path, secret: Path, progress: bool = False) -> tuple[float, str]:
    fresh_store(home)
    env = {**os.environ, "PLI_PASSPHRASE_FILE": str(secret)}
    started = time.perf_counter()
    done = subprocess.run(CLI + ["--home", str(home.root), "import", str(source)] + ([] if progress else ["--quiet"]),
                          env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout + done.stderr


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def compare(root: Path, count: int, pgp: int, rounds: int) -> None:
    print(f"building {count:,} sealed + clear lab messages, {pgp:,} PGP/MIME copies ...", file=sys.stderr)
    home, sealed, plain, inners = build(root / "main", count, pad=True, clear=True)
    pgp_root, gpg_env = pgp_copies(root / "main", inners[:pgp])
    secret = root / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    print(f"load before: {load()}")
    rows = []
    for r in range(rounds):
        nm, nm_cpu = cpu_of(notmuch_new, plain.parent, [])
        (pli, summary), pli_cpu = cpu_of(pli_import, home, sealed, secret)
        rows.append((nm, pli))
        print(f"round {r + 1}: notmuch new {count / nm:,.0f} msg/s ({nm:.1f} s), "
              f"pli import {count / pli:,.0f} msg/s ({pli:.1f} s)  [{summary.splitlines()[0]}]  load {load()}")
        print(f"  CPU per message: notmuch new {nm_cpu * 1000 / count:.3f} ms, pli import (all its processes) "
              f"{pli_cpu * 1000 / count:.3f} ms -> {pli_cpu / nm_cpu:.2f}x")
    dec = notmuch_new(pgp_root, ["--decrypt=true"], gpg_env) if pgp else 0.0
    if pgp:
        print(f"notmuch new --decrypt=true: {pgp / dec:,.0f} msg/s ({pgp:,} messages, {dec:.1f} s)  load {load()}")
    best_nm = max(count / nm for nm, _ in rows)
    best_pli = max(count / p for _, p in rows)
    versus_pgp = f"; notmuch --decrypt=true {pgp / dec:,.0f} msg/s -> {best_pli / (pgp / dec):.1f}x" if pgp else ""
    print(f"\nbest of {rounds}: pli {best_pli:,.0f} msg/s, notmuch new (clear) {best_nm:,.0f} msg/s "
          f"-> {best_pli / best_nm:.2f}x{versus_pgp}")


def large(root: Path, count: int) -> None:
    print(f"building {count:,} sealed lab messages (stream mode) ...", file=sys.stderr)
    home, sealed, _, _ = build(root / "large", count, pad=False, clear=False)
    secret = root / "passphrase"
    secret.write_text(PASSPHRASE)
    secret.chmod(0o600)
    fresh_store(home)
    env = {**os.environ, "PLI_PASSPHRASE_FILE": str(secret)}
    print(f"load before: {load()}")
    started = time.perf_counter()
    proc = subprocess.Popen(CLI + ["--home", str(home.root), "import", str(sealed)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marks = []
    for line in proc.stderr:  # not a terminal: "imported N/TOTAL (...)" every few seconds
        found = re.match(r"imported ([\d,]+)/", line)
        if found:
            marks.append((time.perf_counter() - started, int(found.group(1).replace(",", ""))))
    proc.wait()
    total = time.perf_counter() - started
    print(f"pli import {count:,}: {count / total:,.0f} msg/s overall ({total:.0f} s); "
          f"{proc.stdout.read().splitlines()[0]}  load {load()}")
    last_t, last_n = 0.0, 0
    for t, n in marks:
        if n - last_n >= count // 10 or n == count:
            print(f"  up to {n:>9,}: {(n - last_n) / (t - last_t):,.0f} msg/s")
            last_t, last_n = t, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--pgp", type=int, default=2_000, help="PGP/MIME copies (notmuch decrypts ~40/s)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--large", type=int, default=0, help="also time an import of this many messages")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    # /var/tmp, not /tmp: on the CI machine creating a file under /tmp costs 0.5 ms, 15x more
    root = args.dir or Path(tempfile.mkdtemp(prefix="pli-bench-store-", dir="/var/tmp"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        if args.count:
            compare(root, args.count, min(args.pgp, args.count), args.rounds)
        if args.large:
            large(root, args.large)
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
