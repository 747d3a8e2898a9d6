"""Reports on stdout, progress, notices and errors on stderr, the same way in every command (issue 15,
point 6): what a command did (the flush of the outbox, a receipts pass) is a report, and a search that
finds nothing is a one-line error, exit 1, as `pli dir show` of an unknown entry always was."""
from __future__ import annotations

import os
import stat
import subprocess

import pytest

from pli.core.store import create_store
from pli.core.transport import outbox

from test_output import demo, lab_message, pli as pli_demo  # noqa: F401 - demo is a fixture
from crypto_fixtures import passphrase_file
from test_receipts import carry, held, homes, new, redue, send, set_config  # noqa: F401 - homes is a fixture
from test_send import pli
from transport_fixtures import PLI, Peers, gateway_config, in_process_gateway, inner_message, write_account


@pytest.mark.parametrize("argv, said", [
    (["audit", "show", "no-such-envelope"], "pli: no trace of no-such-envelope"),
    (["receipts", "show", "{id}"], "pli: no receipt recorded for {id}"),
])
def test_nothing_found_is_one_line_on_stderr_and_exit_1(demo, argv, said):  # noqa: F811
    message = lab_message(demo)
    done = pli_demo(demo, *[a.format(id=message) for a in argv])
    assert (done.returncode, done.stdout) == (1, b"")
    assert done.stderr.decode().splitlines() == [said.format(id=message)]


@pytest.fixture
def sending(tmp_path):
    """Alice's home with an account submitting to a real pli gateway on 127.0.0.1 (Bob's domain)."""
    peers = Peers(tmp_path / "peers")
    create_store(peers.alice.home, name="Dr Alice", address="alice@pli.test")
    with in_process_gateway(gateway_config(tmp_path / "gw", peers)) as port:
        write_account(peers.alice.home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                      smtp_security="none")
        yield peers


def test_send_flush_reports_what_it_sent_on_stdout_or_in_o(sending, tmp_path):
    alice = sending.alice
    outbox.queue(alice.home, sending.sealed())
    report = tmp_path / "flushed.txt"
    done = pli(tmp_path, alice, "send", "flush", "-o", str(report))
    assert (done.returncode, done.stdout) == (0, b""), done.stderr
    assert report.read_text().startswith("sent 1, failed 0, not tried 0\n  sent ")
    assert stat.S_IMODE(report.stat().st_mode) == 0o600 and b"sent 1" not in done.stderr
    outbox.queue(alice.home, sending.sealed())
    done = pli(tmp_path, alice, "send", "--flush")                     # the old spelling, the same streams
    assert done.returncode == 0 and done.stdout.startswith(b"sent 1, failed 0") and b"sent 1" not in done.stderr
    empty = pli(tmp_path, alice, "send", "flush")
    assert (empty.returncode, empty.stdout, empty.stderr) == (0, b"", b"the outbox is empty\n")   # a notice


def test_send_message_plans_on_stderr_and_reports_the_submission_on_stdout(sending, tmp_path):
    done = pli(tmp_path, sending.alice, "send", "message", "--to", "bob@pli.test", stdin=inner_message())
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(b"plan: ") and b"queued " in done.stderr and b"sent 1" not in done.stderr
    assert done.stdout.startswith(b"sent 1, failed 0, not tried 0\n  sent ")


def test_note_send_reports_the_submission_on_stdout(sending, tmp_path):
    done = pli(tmp_path, sending.alice, "note", "send", "bob@pli.test", "K+", "6.8", "recheck")
    assert done.returncode == 0, done.stderr
    assert b"queued note " in done.stderr and done.stdout.startswith(b"sent 1, failed 0, not tried 0\n")


def test_receipts_answer_reports_the_pass_on_stdout_and_nothing_due_on_stderr(homes, tmp_path):  # noqa: F811
    alice, bob, _ = homes
    send(alice, ["bob@pli.test"], "due-1")
    carry(alice, bob)
    set_config(bob, send_delivery=False, flush=False)
    new(bob)
    redue(bob, held(bob, "due-1@pli.test"))               # as a crash before the pass leaves it: still due
    set_config(bob, flush=False)
    env = dict(os.environ, PLI_PASSPHRASE_FILE=str(passphrase_file(tmp_path / "secret")))
    run = lambda *argv: subprocess.run([*PLI, "--home", str(bob.home.root), "receipts", "answer", *argv],
                                       capture_output=True, env=env, timeout=60)
    report = tmp_path / "pass.txt"
    done = run("-o", str(report))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b""), done.stderr
    assert report.read_text().startswith("receipts: 1 queued, 0 sent")
    again = run()
    assert (again.returncode, again.stdout, again.stderr) == (0, b"", b"receipts: nothing due\n")


def test_mail_kept_in_the_outbox_is_said_on_stderr_too(tmp_path):
    peers = Peers(tmp_path / "peers")
    create_store(peers.alice.home, name="Dr Alice", address="alice@pli.test")
    with in_process_gateway(gateway_config(tmp_path / "gw", peers)) as port:
        pass                                               # the port is free again: nothing listens
    write_account(peers.alice.home, address="alice@pli.test", smtp_host="127.0.0.1", smtp_port=port,
                  smtp_security="none")
    outbox.queue(peers.alice.home, peers.sealed())
    done = pli(tmp_path, peers.alice, "send", "flush")
    assert done.returncode == 75
    assert done.stdout.startswith(b"sent 0, failed 1, not tried 0\n  kept ")
    [line] = done.stderr.decode().splitlines()
    assert line.startswith("pli: 1 mail kept in the outbox: ") and "`pli send flush` tries again" in line


def test_pad_status_without_pads_says_so_on_stderr_and_reports_nothing(tmp_path):
    from crypto_fixtures import make_keyring

    done = pli(tmp_path, make_keyring(tmp_path, "dana", 4), "pad", "status")
    assert (done.returncode, done.stdout) == (0, b"")
    assert done.stderr == b"no pads: make one with `pli pad new --with ADDR --size 64M -o DIR`\n"


@pytest.mark.parametrize("argv", [["dir", "import", "{missing}"], ["init", "--directory", "{missing}",
                                                                   "--authority-fingerprint", "00"],
                                  ["keys", "import-public", "{missing}"], ["pad", "import", "{missing}"],
                                  ["keys", "group-import", "{missing}"]])
def test_an_input_file_that_cannot_be_read_is_a_usage_error_in_every_command(tmp_path, argv):
    from test_shape import run_pli

    missing = tmp_path / "no-such-file"
    done = run_pli(tmp_path, *[a.format(missing=missing) for a in argv])
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr.decode().splitlines() == [f"pli: cannot read {missing}: No such file or directory"]
