"""core/cli/common.py: the old spellings of `pli send` and `pli note` stay hidden aliases of their
subcommands, and -o/--output writes a report where stdout would have had it."""
from __future__ import annotations

import stat

import pytest

from pli.core.cli import build_parser
from pli.core.cli.common import new_spelling
from pli.core.transport import outbox

from test_send import pli
from transport_fixtures import Peers, inner_message


@pytest.mark.parametrize("old, new", [
    (["send", "--to", "a@b.c", "m.eml"], ["send", "message", "--to", "a@b.c", "m.eml"]),
    (["--home", "H", "send", "--flush", "--account", "x"], ["--home", "H", "send", "flush", "--account", "x"]),
    (["--home=H", "send", "--list"], ["--home=H", "send", "list"]),
    (["send", "--set-password", "cabinet", "--server", "imap"], ["send", "password", "cabinet", "--server", "imap"]),
    (["send", "--set-password=cabinet"], ["send", "password", "cabinet"]),
    (["note", "dr.b@pli.test", "K+", "6.8"], ["note", "send", "dr.b@pli.test", "K+", "6.8"]),
    (["note", "--show", "dr.b@pli.test", "--limit", "3"], ["note", "show", "dr.b@pli.test", "--limit", "3"]),
])
def test_an_old_spelling_becomes_its_subcommand(old, new):
    assert new_spelling(old) == new
    assert new_spelling(new) == new          # the new spelling passes unchanged
    assert build_parser().parse_args(new).func is not None


@pytest.mark.parametrize("argv", [["send", "--help"], ["search", "--list"], ["--home", "H"], [], ["note", "show", "x"]])
def test_everything_else_is_left_as_it_is(argv):
    assert new_spelling(argv) == argv


def test_send_list_and_its_old_spelling_print_the_same_and_o_writes_it_to_a_private_file(tmp_path):
    peers = Peers(tmp_path / "peers")
    outbox.queue(peers.alice.home, peers.sealed())
    new = pli(tmp_path, peers.alice, "send", "list")
    old = pli(tmp_path, peers.alice, "send", "--list")
    assert new.returncode == old.returncode == 0, new.stderr
    assert new.stdout == old.stdout and b"bob@pli.test" in new.stdout and b"waiting: not tried yet" in new.stdout
    report = tmp_path / "outbox.txt"
    written = pli(tmp_path, peers.alice, "send", "list", "-o", str(report))
    assert written.returncode == 0 and written.stdout == b""
    assert report.read_bytes() == new.stdout
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert b"1 message in the outbox" in written.stderr          # the count stays on stderr


def test_send_message_needs_its_recipients_as_the_old_spelling_did(tmp_path):
    peers = Peers(tmp_path / "peers")
    for argv in (["send", "message"], ["send"]):
        refused = pli(tmp_path, peers.alice, *argv, stdin=inner_message())
        assert refused.returncode == 2 and b"--to" in refused.stderr and b"Traceback" not in refused.stderr
    assert outbox.pending(peers.alice.home) == []
