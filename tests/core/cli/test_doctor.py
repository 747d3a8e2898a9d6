"""`pli doctor` checks the home, not only the build: keyring, pads, directory, trace, store, outbox and accounts
(with --online, their real servers: aiosmtpd and Dovecot on loopback); each problem with the command that
fixes it, and exit 1 when something is wrong.  A machine with no home yet (`make demo`) still passes."""
from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from pli.core.audit import home_journal
from pli.core.audit.journal import journal_path
from pli.core.directory import import_directory, set_trust_anchor
from pli.core.directory.local import installed_path
from pli.core.directory.signed import sign_directory
from pli.core.home import Home
from pli.core.mail.send import seal_and_queue
from pli.core.store import create_store
from pli.core.transport import outbox
from crypto_fixtures import PASSPHRASE, passphrase_file
from directory_fixtures import Authority, entry_for
from transport_fixtures import PLI, Dovecot, Peers, free_port, inner_message, submission_server, write_account


def doctor(home: Home, *args, passphrase: str | None = PASSPHRASE) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "PLI_PASSPHRASE_FILE"}
    if passphrase is not None:
        env["PLI_PASSPHRASE_FILE"] = str(passphrase_file(home.root.parent / "passphrase.txt", passphrase))
    done = subprocess.run([*PLI, "--home", str(home.root), "doctor", *args], capture_output=True, env=env,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.stderr == b"", done.stderr
    return done.returncode, done.stdout.decode()


def section(out: str) -> list[str]:
    """The home's findings: the lines after the build's, up to the count."""
    return out.split("\n\n")[1].splitlines()


def line(out: str, area: str, status: str) -> list[str]:
    """The findings of `area` with `status` ("ok", "WARN", "FAIL"), spaces squeezed, each with its fix joined on."""
    lines = [" ".join(text.split()) for text in section(out)]
    found = []
    for i, text in enumerate(lines):
        if text.startswith(f"{area} ") and text.split()[len(area.split())] == status:
            fix = lines[i + 1].strip() if i + 1 < len(lines) and lines[i + 1].strip().startswith("fix:") else ""
            found.append(f"{text} | {fix}" if fix else text)
    return found


@pytest.fixture
def peers(tmp_path):
    return Peers(tmp_path / "peers")


@pytest.fixture
def home(peers):
    """alice's home in good order: a store, a pad with bob, a fresh directory, a sealed and sent mail traced."""
    alice, bob = peers.alice, peers.bob
    create_store(alice.home, name="Dr Alice", address="alice@pli.test")
    pad = alice.new_pad(["bob@pli.test"], 64 * 1024)
    bob.import_pad(alice.export_pad(pad.id, "bob@pli.test"))
    Authority().install(alice.home, [entry_for(alice.identity.public), entry_for(bob.identity.public)])
    inner = email.message_from_bytes(inner_message(), policy=email.policy.default)
    seal_and_queue(alice.home, alice, inner, ["bob@pli.test"])
    outbox.flush(alice.home, lambda raw, sender, rcpts: outbox.Receipt("test", "Q1", "250 ok"),
                 home_journal(alice.home, alice))
    return alice.home


def test_no_home_yet_checks_the_build_only_and_passes(tmp_path):
    status, out = doctor(Home(tmp_path / "nothing-here"), passphrase=None)
    assert status == 0
    assert "crypto backend" in out and "(not created yet: run `pli init`)" in out
    assert "keyring" not in out


def test_build_only_leaves_the_home_alone_even_a_broken_one(home):
    journal_path(home).write_bytes(b"garbage\n")
    status, out = doctor(home, "--build-only", passphrase=None)
    assert status == 0 and "crypto backend" in out and "trace" not in out


def test_a_home_in_good_order_reports_what_it_checked(home):
    write_account(home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=2525, smtp_security="none")
    status, out = doctor(home)
    assert status == 0, out
    assert line(out, "keyring", "ok")[0].endswith("1 correspondent; unlocked")
    assert line(out, "pads", "ok") == ["pads ok 1 pad with enough left (`pli pad status` for each lane)"]
    [directory] = line(out, "directory", "ok")
    assert "2 entries, serial 1, issued " in directory and "(0 days ago), signature checks" in directory
    assert line(out, "trace", "ok") == ["trace ok 2 entries verified, signed by 1 key"]
    assert line(out, "store", "ok") == ["store ok notmuch database opens: 1 message"]
    assert line(out, "outbox", "ok") == ["outbox ok empty"]
    assert line(out, "account cabinet", "ok") == [
        "account cabinet ok smtp 127.0.0.1:2525 (none, no login), no imap"]
    assert out.rstrip().endswith("everything checked is fine")


def test_each_problem_is_named_with_its_fix_and_the_exit_status_says_so(peers, home, tmp_path):
    alice = peers.alice
    # a pad nearly used up
    low = alice.new_pad(["bob@pli.test"], 8192)
    alice.ledger.reserve([(low, low.lane_of("alice@pli.test"), 4000)])
    # a directory edited on disk
    data = installed_path(home).read_bytes()
    installed_path(home).write_bytes(data.replace(b"Dr Bob", b"Dr Rob"))
    # the trace edited
    journal_path(home).write_bytes(journal_path(home).read_bytes().replace(b'"sealed"', b'"opened"', 1))
    # mail waiting, and mail a server refused for good
    outbox.queue(home, peers.sealed())
    refused = outbox.queue(home, inner_message())
    outbox._write_state(home, refused.key, {"attempts": 1, "error": "550 5.7.1 refused (unsealed)",
                                            "permanent": True})
    # a password file others can read, and mail delivered but not stored yet
    secret = tmp_path / "smtp.pass"
    secret.write_text("s")
    secret.chmod(0o644)
    write_account(home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_security="none",
                  smtp_username="alice", smtp_password_file=str(secret))
    (home.root / "incoming" / "new").mkdir(parents=True, exist_ok=True)
    (home.root / "incoming" / "new" / "1.eml").write_bytes(peers.sealed())

    status, out = doctor(home)
    assert status == 1
    [pad] = line(out, "pads", "WARN")
    assert f"pad {low.hex[:12]}… with bob@pli.test: 96 bytes left of 4,096 in your lane" in pad
    assert pad.endswith("fix: pli pad new --with bob@pli.test --size 64M -o DIR (then hand the files over)")
    [directory] = line(out, "directory", "FAIL")
    assert "fix: pli dir import FILE" in directory
    [trace] = line(out, "trace", "FAIL")
    assert "entry 1" in trace and "fix: pli audit verify (it names the first bad entry)" in trace
    assert line(out, "outbox", "FAIL")[0].endswith(
        "refused by a server for good: 550 5.7.1 refused (unsealed) | fix: pli send list (why each), then "
        "pli send flush --retry-refused once fixed")
    assert "1 message waiting" in line(out, "outbox", "WARN")[0]
    assert line(out, "store", "WARN")[0].endswith("1 message delivered into incoming/ and not stored yet | fix: "
                                                   "pli new")
    [account] = line(out, "account cabinet", "FAIL")
    assert f"smtp login: the password file of account cabinet ({secret}) is readable by others" in account
    assert out.rstrip().endswith("4 problems, 3 warnings")


def test_a_wrong_passphrase_and_a_broken_index_are_failures(home):
    index = home.root / "mail" / ".notmuch" / "xapian"
    for path in index.iterdir():
        path.write_bytes(b"not a xapian file")
    status, out = doctor(home, passphrase="not the passphrase")
    assert status == 1
    assert line(out, "keyring", "FAIL")[0].endswith("the passphrase given does not unlock it | fix: check the file "
                                                    "PLI_PASSPHRASE_FILE names, or type the passphrase again")
    assert "cannot open the index" in line(out, "store", "FAIL")[0]
    assert not line(out, "pads", "ok")             # not unlocked: the pads are not claimed to be fine


def test_an_old_directory_is_a_warning_with_the_command_to_refresh_it(peers, home):
    authority = Authority()
    entries = [entry_for(peers.alice.identity.public)]
    old = sign_directory(entries, authority.key, 5, datetime.now(timezone.utc) - timedelta(days=60))
    set_trust_anchor(home, authority.public)
    installed_path(home).unlink()
    import_directory(home, old)
    status, out = doctor(home)
    [warning] = line(out, "directory", "WARN")
    assert "1 entry, serial 5" in warning and "(60 days ago)" in warning
    assert warning.endswith("fix: pli dir import FILE (the latest file from your directory authority)")
    assert status == 0                                   # something to do, nothing broken


def test_online_connects_and_logs_in_to_the_real_servers(home, tmp_path):
    dovecot = Dovecot().start() if shutil.which("dovecot") or os.path.exists("/usr/sbin/dovecot") else None
    try:
        with submission_server(login=("alice", "right")) as (port, _):
            imap = dict(imap_host="127.0.0.1", imap_port=dovecot.imap_port, imap_security="none",
                        imap_username="bob", imap_password="keyring") if dovecot else {}
            write_account(home, "good", address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                          smtp_security="none", smtp_username="alice", smtp_password="keyring", **imap)
            write_account(home, "wrong", address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                          smtp_security="none", username="alice", password="keyring")
            write_account(home, "down", address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=free_port(),
                          smtp_security="none", default=True)
            for account, server, secret in (("good", "smtp", "right"), ("good", "imap", Dovecot.USERS["bob"]),
                                            ("wrong", None, "wrong")):
                args = ["send", "--set-password", account] + (["--server", server] if server else [])
                subprocess.run([*PLI, "--home", str(home.root), *args], input=secret.encode(), check=True,
                               capture_output=True, timeout=60)
            offline_status, offline = doctor(home)
            status, out = doctor(home, "--online")
    finally:
        if dovecot:
            dovecot.stop()
    assert offline_status == 0 and "login accepted" not in offline
    assert status == 1
    assert line(out, "account good", "ok")[1] == f"account good ok smtp 127.0.0.1:{port}: reachable (no TLS " \
                                                 "(loopback)), login accepted"
    if dovecot:
        assert line(out, "account good", "ok")[2].endswith("imap 127.0.0.1:%d: reachable, login accepted; INBOX "
                                                           "holds 0 messages" % dovecot.imap_port)
    [wrong] = line(out, "account wrong", "FAIL")
    assert "refused the login: 535 5.7.8 Authentication credentials invalid" in wrong
    assert wrong.endswith("fix: check smtp_username and `pli send password wrong`")
    [down] = line(out, "account down", "FAIL")
    assert "cannot reach 127.0.0.1" in down and "connection refused" in down
    assert down.endswith("fix: check smtp_host, smtp_port and smtp_security in [accounts.down]")
