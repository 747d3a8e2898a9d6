"""Crash test: sealing processes SIGKILLed at random moments never make a pad byte serve twice."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pli.core.crypto import envelope_format as fmt
from pli.core.crypto.envelope import SeenRanges, open_mail
from pli.core.crypto.mime import extract_envelope
from pli.core.crypto.pairing import share_pad

from crypto_fixtures import PASSPHRASE, people

SEALER = textwrap.dedent("""
    import os, random, sys
    from pathlib import Path
    from pli.core.crypto.envelope import seal_mail
    from pli.core.crypto.keyring import Keyring
    from pli.core.home import Home
    home, out, name, passphrase = sys.argv[1:5]
    keyring = Keyring.unlock(Home(Path(home)), passphrase)
    rng = random.Random(name)
    for i in range(100000):
        body = b"Subject: crash test\\n\\n" + os.urandom(rng.randrange(10, 800)).hex().encode()
        sealed = seal_mail(body, keyring, ["bob@pli.test"], mode=("otp", "stream")[i % 2])
        tmp = Path(out) / f".{name}-{i}.tmp"
        tmp.write_bytes(sealed)
        os.rename(tmp, Path(out) / f"{name}-{i}.eml")   # complete outputs only: what a sender would send
""")


@pytest.mark.slow
def test_sigkilled_sealers_never_reuse_pad_bytes(tmp_path):
    alice, bob = people(tmp_path, "alice", "bob")
    pad = share_pad(alice, [bob], 16 << 20)
    out = tmp_path / "out"
    out.mkdir()
    chance = random.Random(1234)
    start = time.monotonic()
    rounds = 0
    # At least 12 s and 5 rounds; on a loaded machine a sealer's start-up (imports, the keyring's
    # scrypt) can outlast the kill, so rounds go on until enough mail came out (up to 3 minutes).
    while (time.monotonic() < start + 12 or rounds < 5 or sum(1 for _ in out.glob("*.eml")) <= 20) \
            and time.monotonic() < start + 180:
        procs = [subprocess.Popen([sys.executable, "-c", SEALER, str(alice.home.root), str(out), f"r{rounds}p{n}",
                                   PASSPHRASE], stderr=subprocess.DEVNULL) for n in range(3)]
        time.sleep(chance.uniform(0.2, 0.9))      # startup, then sealing: killed anywhere in between
        for proc in procs:
            time.sleep(chance.uniform(0, 0.05))
            os.kill(proc.pid, signal.SIGKILL)
        for proc in procs:
            proc.wait()
        rounds += 1

    reservations = alice.ledger.reservations()
    spans = sorted((r.offset, r.end) for r in reservations)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "ledger overlap"

    sealed = sorted(out.glob("*.eml"))
    assert len(sealed) > 20, "the sealers should have produced mail between kills"
    reserved = {(r.offset, r.length) for r in reservations}
    used = []
    for path in sealed:
        env = fmt.parse(extract_envelope(path.read_bytes()))
        refs = [env.header.content_pad] if env.header.content_pad else [r.pad for r in env.recipients if r.pad]
        for ref in refs:
            assert (ref.offset, ref.length) in reserved, "pad bytes used without a durable reservation"
            used.append((ref.offset, ref.offset + ref.length))
    used.sort()
    assert all(a[1] <= b[0] for a, b in zip(used, used[1:])), "two messages used the same pad bytes"

    # and the receiver agrees: every message opens, none raises a replay alert
    alerts = SeenRanges(bob.home).check_and_record_many([open_mail(p.read_bytes(), bob) for p in sealed])
    assert alerts == [None] * len(sealed)
    assert alice.ledger.used(pad, 0) >= max(end for _, end in used)
