"""Every mode and recipient shape round-trips under both crypto backends, and each opens what the other sealed."""
import os
import subprocess
import sys
import textwrap

import pytest

from pli.core.crypto import primitives

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[3])
    from pli.core.crypto import primitives
    from pli.core.crypto.envelope import open_mail, open_mails, seal_mail
    from pli.core.crypto.keyring import Keyring
    from pli.core.crypto.pairing import introduce, share_group, share_pad
    from pli.core.home import Home
    from crypto_fixtures import PASSPHRASE, inner_message, people

    root, action = Path(sys.argv[1]), sys.argv[2]
    assert primitives.backend_info().name == sys.argv[4], primitives.backend_info()
    if action == "seal":
        alice, bob, carol, dave = people(root, "alice", "bob", "carol", "dave")
        share_pad(alice, [bob], 1 << 16)
        share_pad(alice, [bob, carol], 1 << 16)
        share_group(carol, [dave], "cab-1", "cabinet@pli.test", "Cabinet")
        introduce(alice, bob, carol, dave)
        cases = [(["bob@pli.test"], None), (["bob@pli.test"], "stream"), (["bob@pli.test", "carol@pli.test"], "otp"),
                 (["bob@pli.test", "carol@pli.test", "dave@pli.test"], "stream"), (["cabinet@pli.test"], None)]
        for n, (to, mode) in enumerate(cases):
            (root / f"{n}.eml").write_bytes(seal_mail(inner_message(body=f"case {n} " * 500), alice, to, mode=mode))
    readers = {a: Keyring.unlock(Home(root / a), PASSPHRASE) for a in ("bob", "carol", "dave")}
    mails = sorted(root.glob("*.eml"))
    assert len(mails) == 5
    for mail in mails:
        raw = mail.read_bytes()
        for name, keyring in readers.items():
            try:
                opened = open_mail(raw, keyring)
            except Exception as error:
                assert error.reason == "not-for-me", (mail.name, name, error)
                continue
            assert opened.inner == inner_message(body=f"case {mail.stem} " * 500)
    batch = open_mails([m.read_bytes() for m in mails], readers["bob"])
    assert [type(r).__name__ for r in batch] == ["Opened"] * 4 + ["NotForMe"], batch
    print("ok", primitives.backend_info().name)
""")


def backends():
    found = ["pure"]
    if primitives.backend_info().native_available:
        found.append("native")
    return found


def run(root, action, backend):
    env = dict(os.environ, PLI_CRYPTO_BACKEND=backend)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(root), action, os.path.dirname(os.path.dirname(__file__)), backend],
                          capture_output=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert proc.stdout.split() == [b"ok", backend.encode()]


@pytest.mark.parametrize("sealer", ["pure", "native"])
def test_round_trips_under_each_backend_and_across_them(tmp_path, sealer):
    if sealer not in backends():
        pytest.skip(f"native backend unavailable: {primitives.backend_info().native_error}")
    run(tmp_path, "seal", sealer)
    for opener in backends():
        run(tmp_path, "open", opener)
