"""A replay is an alarm (issue 14.8): `pli new` and `pli import` exit with the SECURITY ALERT code, say
so, and name where the quarantined mail now is."""
import os
import re
import subprocess
import sys
from pathlib import Path

from pli.core.crypto.refusals import ReplayAlert

from crypto_fixtures import passphrase_file
from replay_fixtures import reused_pad
from store_fixtures import pair  # noqa: F401 - a fixture

CLI = [sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())"]


def run(bob, tmp_path, *args):
    secret = passphrase_file(tmp_path / "pass")
    env = {**os.environ, "PLI_PASSPHRASE_FILE": str(secret)}
    return subprocess.run(CLI + ["--home", str(bob.home.root), *args], capture_output=True, text=True, env=env)


def quarantined_path(bob, stderr: str) -> Path:
    match = re.search(r"It is in quarantine: (\S+)", stderr)
    assert match, stderr
    path = Path(match.group(1))
    assert path.is_file() and path.parent == bob.home.mail / "quarantine" / "cur"
    assert b"X-Pli-Reason: replay" in path.read_bytes()
    return path


def test_pli_new_raises_the_alert_and_names_where_the_mail_now_is(pair, tmp_path):
    alice, bob = pair
    for name, sealed in zip(("a.mail", "b.mail"), reused_pad(alice)):
        (bob.home.root / "incoming" / "new" / name).write_bytes(sealed)
    done = run(bob, tmp_path, "new")
    assert done.returncode == ReplayAlert.exit_code == 6, done.stderr
    assert "pli: SECURITY ALERT: the message from alice@pli.test uses bytes" in done.stderr
    path = quarantined_path(bob, done.stderr)
    assert f"replay: {bob.home.root / 'incoming' / 'new' / 'b.mail'} -> {path}" in done.stdout
    assert not os.listdir(bob.home.root / "incoming" / "new")   # the printed path is the one that holds it
    again = run(bob, tmp_path, "new")
    assert again.returncode == 0 and "SECURITY ALERT" not in again.stderr   # raised once, not at every run


def test_pli_import_raises_the_alert_too(pair, tmp_path):
    alice, bob = pair
    folder = tmp_path / "in"
    folder.mkdir()
    for name, sealed in zip(("a.eml", "b.eml"), reused_pad(alice)):
        (folder / name).write_bytes(sealed)
    done = run(bob, tmp_path, "import", str(folder / "a.eml"), str(folder / "b.eml"))
    assert done.returncode == 6 and "SECURITY ALERT" in done.stderr
    quarantined_path(bob, done.stderr)
