"""`pli keys`, `pli pad`, `pli seal`, `pli open` as a script uses them: real processes, exit codes, no tracebacks."""
import os
import subprocess
import sys

import pytest

PLI = [sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())"]


@pytest.fixture
def cli(tmp_path):
    (tmp_path / "pass").write_text("s3cret\n")
    (tmp_path / "pass").chmod(0o600)
    env = dict(os.environ, PLI_PASSPHRASE_FILE=str(tmp_path / "pass"), PLI_INSECURE_TEST_KDF="1")
    env.pop("PLI_DEBUG", None)

    def run(home, *args, stdin=b"", passfile=None):
        e = dict(env, PLI_PASSPHRASE_FILE=str(passfile)) if passfile else env
        proc = subprocess.run([*PLI, "--home", str(tmp_path / home), *map(str, args)], input=stdin,
                              capture_output=True, env=e, timeout=60)
        assert b"Traceback" not in proc.stderr, proc.stderr.decode()
        return proc

    run.dir = tmp_path
    return run


def test_two_doctors_exchange_keys_share_a_pad_and_write(cli):
    d = cli.dir
    assert cli("a", "keys", "init", "--id", "10000000001", "--address", "a@pli.test", "--name", "Dr A").returncode == 0
    assert cli("b", "keys", "init", "--id", "10000000002", "--address", "b@pli.test", "--name", "Dr B").returncode == 0
    (d / "a.pub").write_bytes(cli("a", "keys", "export-public").stdout)
    (d / "b.pub").write_bytes(cli("b", "keys", "export-public").stdout)
    assert cli("a", "keys", "import-public", d / "b.pub").returncode == 0
    assert cli("b", "keys", "import-public", d / "a.pub").returncode == 0
    assert b"b@pli.test" in cli("a", "keys", "show").stdout

    assert cli("a", "pad", "new", "--with", "b@pli.test", "--size", "64K", "--out", d / "out").returncode == 0
    [pad_file] = list((d / "out").iterdir())
    assert cli("b", "pad", "import", pad_file).returncode == 0

    message = b"Subject: K+ 6.8 for DUPONT\nFrom: a@pli.test\n\nurgent\n"
    sealed = cli("a", "seal", "--to", "b@pli.test", stdin=message)
    assert sealed.returncode == 0 and b"DUPONT" not in sealed.stdout and b"Subject: Sealed message" in sealed.stdout
    (d / "sealed.eml").write_bytes(sealed.stdout)
    opened = cli("b", "open", d / "sealed.eml")
    assert opened.returncode == 0 and opened.stdout == message
    assert b"verified: from Dr A <a@pli.test>" in opened.stderr and b"otp mode" in opened.stderr
    assert cli("b", "open", d / "sealed.eml").returncode == 0          # the same message again: fine

    stream = cli("a", "seal", "--to", "b@pli.test", "--mode", "stream", stdin=message)
    assert cli("b", "open", stdin=stream.stdout).stdout == message
    status = cli("a", "pad", "status").stdout.decode()
    assert "lane 0 a@pli.test" in status and "left" in status

    # a sender whose ledger is lost reuses pad bytes: the receiver raises the alert (exit 6)
    (d / "a" / "pads" / "ledger").unlink()
    again = cli("a", "seal", "--to", "b@pli.test", stdin=message + b"other\n")
    alert = cli("b", "open", stdin=again.stdout)
    assert alert.returncode == 6 and b"SECURITY ALERT" in alert.stderr and alert.stdout == b""

    # exit codes a script relies on
    (d / "wrong").write_text("nope\n")
    (d / "wrong").chmod(0o600)
    assert cli("b", "open", d / "sealed.eml", passfile=d / "wrong").returncode == 5
    assert cli("a", "seal", "--to", "nobody@pli.test", stdin=message).returncode == 7
    assert cli("b", "seal", "--to", "a@pli.test", "--mode", "otp", stdin=b"x" * 40000).returncode == 7
    assert cli("c", "open", d / "sealed.eml").returncode == 3                 # no keyring in this home
    assert cli("a", "open", d / "sealed.eml").returncode == 4                 # not for a
    assert cli("b", "open", stdin=message).returncode == 4                    # unsealed
    assert cli("b", "keys", "init", "--id", "1", "--address", "b@pli.test", "--name", "B").returncode == 3


@pytest.mark.parametrize("junk", [b"", b"\xff\xfe" * 50, b"Content-Type: application/x-pli-envelope\n\nAAAA",
                                  b"From: x\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
                                  b"Content-Type: application/x-pli-envelope\nContent-Transfer-Encoding: base64\n\n"
                                  b"UExJRQEBAAA=\n--b--\n"])
def test_junk_input_is_refused_with_one_line(cli, junk):
    cli("b", "keys", "init", "--id", "10000000002", "--address", "b@pli.test", "--name", "Dr B")
    proc = cli("b", "open", stdin=junk)
    assert proc.returncode == 4 and proc.stderr.count(b"\n") == 1 and proc.stderr.startswith(b"pli: ")
