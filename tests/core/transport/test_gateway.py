"""The receiving gateway against real SMTP clients (smtplib, swaks) on loopback: what it accepts and refuses."""
from __future__ import annotations

import base64
import shutil
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from pli.core.audit import steps_of, verify
from pli.core.crypto.envelope import open_mail
from pli.core.crypto.mime import extract_envelope
from pli.core.home import Home
from pli.core.transport.submission import crlf
from transport_fixtures import Peers, gateway_config, in_process_gateway, self_signed
from store_fixtures import plain_mail

BOB_MAILBOX = "mbox-7f3a91"


@pytest.fixture(scope="module")
def peers(tmp_path_factory):
    return Peers(tmp_path_factory.mktemp("peers"))


@pytest.fixture(scope="module")
def gateway(peers, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gw")
    with in_process_gateway(gateway_config(folder, peers, max_message_bytes=256 * 1024)) as port:
        yield folder, port


def delivered(folder, mailbox=BOB_MAILBOX) -> list:
    new = folder / "mailboxes" / mailbox / "new"
    return sorted(new.iterdir()) if new.exists() else []


def send(port, raw, rcpts=("bob@pli.test",), sender="alice@pli.test"):
    """(code, reply) of DATA, or of the first refused command."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo("client.pli.test")
        code, reply = smtp.mail(sender)
        if code != 250:
            return code, reply
        for rcpt in rcpts:
            code, reply = smtp.rcpt(rcpt)
            if code != 250:
                return code, reply
        return smtp.data(crlf(raw))


def test_sealed_mail_from_a_known_sender_is_delivered_and_opens_for_the_recipient(peers, gateway):
    folder, port = gateway
    before = set(delivered(folder))
    raw = peers.sealed()
    code, reply = send(port, raw)
    assert code == 250, reply
    new = [p for p in delivered(folder) if p not in before]
    assert len(new) == 1
    opened = open_mail(new[0].read_bytes(), peers.bob)
    assert opened.sender_address == "alice@pli.test"
    assert b"queued as " + opened.envelope_id.encode() in reply
    assert new[0].read_bytes().startswith(b"Received: from client.pli.test")


def test_the_trace_records_acceptance_and_delivery_signed_by_the_gateway(peers, gateway):
    folder, port = gateway
    code, reply = send(port, peers.sealed())
    envelope_id = reply.split()[-1].decode()
    trace_home = Home(folder / "trace-home")
    steps = [(e.step, e.details.get("via")) for e in steps_of(trace_home, envelope_id)]
    assert steps == [("accepted-by-gateway", None), ("delivered", "maildir")]
    assert verify(trace_home).entries >= 2


def trace_entries(folder) -> list:
    from pli.core.audit.journal import read_lines
    from pli.core.audit.entry import decode

    return [decode(raw).entry for _n, raw in read_lines(Home(folder / "trace-home"))]


def refusals_since(folder, count: int) -> list:
    return [e for e in trace_entries(folder)[count:] if e.step in ("refused", "deferred")]


def test_every_refusal_is_in_the_trace_with_its_reason_and_nothing_of_the_content(peers, gateway):
    folder, port = gateway
    start = len(trace_entries(folder))
    raw = peers.sealed(subject="K+ 6.8 DUPONT")
    tampered = raw.replace(b"\n", b"\r\n")
    envelope = extract_envelope(raw)
    tampered = tampered.replace(base64.encodebytes(envelope).replace(b"\n", b"\r\n")[:60],
                                base64.encodebytes(b"\x00" * 3 + envelope[3:]).replace(b"\n", b"\r\n")[:60])
    assert send(port, plain_mail(7))[0] == 550
    assert send(port, tampered)[0] == 550
    assert send(port, peers.sealed(sender=peers.carol), sender="carol@pli.test")[0] == 550
    assert send(port, peers.sealed(), rcpts=("nobody@pli.test",))[0] == 550
    found = {(e.step, e.details["reason"]): e for e in refusals_since(folder, start)}
    assert set(found) == {("refused", "unsealed"), ("refused", "malformed"), ("refused", "unknown-sender"),
                          ("refused", "unknown-recipient")}
    plain = found["refused", "unsealed"]
    assert plain.message == "plain7@example.org"
    assert plain.details["status"] == "550 5.7.1" and plain.details["sender"] == "alice@pli.test"
    assert plain.details["client"] == "127.0.0.1" and plain.details["gateway"] == "mx.pli.test"
    assert plain.details["recipients"] == ["bob@pli.test"] and len(plain.details["sha256"]) == 64
    assert found["refused", "malformed"].message == open_mail(raw, peers.bob).envelope_id
    assert found["refused", "unknown-recipient"].details["status"] == "550 5.1.1"
    text = (folder / "trace-home" / "trace" / "journal").read_bytes()
    assert b"DUPONT" not in text and b"plain message" not in text and BOB_MAILBOX.encode() not in text
    assert verify(Home(folder / "trace-home")).entries >= 4


def test_an_oversized_message_is_traced_as_refused_too_big(peers, gateway):
    folder, port = gateway
    start = len(trace_entries(folder))
    big = peers.sealed() + (b"X" * 76 + b"\r\n") * 4000
    code, reply = send(port, big)
    assert code == 552 and b"5.3.4" in reply and b"too-big" in reply
    [refused] = refusals_since(folder, start)
    assert (refused.step, refused.details["reason"], refused.details["status"]) == ("refused", "too-big", "552 5.3.4")
    assert refused.details["recipients"] == ["bob@pli.test"] and refused.message.startswith("smtp-")


def test_a_client_over_its_limits_is_deferred_in_the_trace(peers, tmp_path):
    config = gateway_config(tmp_path, peers, max_connections_per_client=1, max_messages_per_minute=1)
    with in_process_gateway(config) as port:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as first:
            first.ehlo()
            with pytest.raises(smtplib.SMTPConnectError):
                smtplib.SMTP("127.0.0.1", port, timeout=5)
            assert first.mail("alice@pli.test")[0] == 250
            first.rset()
            assert first.mail("alice@pli.test")[0] == 450
    reasons = [(e.step, e.details["reason"], e.details["status"]) for e in refusals_since(tmp_path, 0)]
    assert reasons == [("deferred", "too-many-connections", "421 4.7.0"), ("deferred", "rate-limited", "450 4.7.1")]


def test_a_refusal_that_cannot_be_traced_is_answered_as_a_temporary_failure(peers, tmp_path):
    config = gateway_config(tmp_path, peers)
    with in_process_gateway(config) as port:
        assert send(port, peers.sealed())[0] == 250          # the trace exists, then becomes unwritable
        journal = tmp_path / "trace-home" / "trace" / "journal"
        journal.rename(journal.with_name("journal.kept"))
        journal.mkdir()                                          # unwritable, even for root
        code, reply = send(port, plain_mail(8))
        assert code == 451 and b"4.3.0" in reply
        code, reply = send(port, peers.sealed())
        assert code == 451
        journal.rmdir()
        journal.with_name("journal.kept").rename(journal)
        assert send(port, plain_mail(8))[0] == 550                # traced again: refused for good
    assert [e.step for e in trace_entries(tmp_path)] == ["accepted-by-gateway", "delivered", "refused"]


def test_plain_mail_is_refused_permanently_and_not_delivered(gateway):
    folder, port = gateway
    before = delivered(folder)
    code, reply = send(port, plain_mail(1))
    assert code == 550 and b"5.7.1" in reply and b"unsealed" in reply
    assert delivered(folder) == before


def test_a_tampered_envelope_is_refused_as_a_bad_signature(peers, gateway):
    folder, port = gateway
    raw = peers.sealed()
    envelope = bytearray(extract_envelope(raw))
    envelope[-80] ^= 0x01                      # a bit of the ciphertext: parsing still succeeds
    old = base64.encodebytes(extract_envelope(raw)).replace(b"\n", b"\r\n")
    new = base64.encodebytes(bytes(envelope)).replace(b"\n", b"\r\n")
    tampered = raw.replace(b"\n", b"\r\n").replace(old, new)
    assert tampered != raw.replace(b"\n", b"\r\n")
    before = delivered(folder)
    code, reply = send(port, tampered)
    assert code == 550 and b"bad-signature" in reply
    assert delivered(folder) == before


def test_an_unknown_sender_is_refused_with_a_clear_reason(peers, gateway):
    folder, port = gateway
    code, reply = send(port, peers.sealed(sender=peers.carol), sender="carol@pli.test")
    assert code == 550 and b"unknown-sender" in reply


def test_mail_not_sealed_for_the_recipient_is_refused(peers, gateway):
    folder, port = gateway
    code, reply = send(port, peers.sealed(to=("bob@pli.test",)), rcpts=("bob@pli.test", "carol@pli.test"))
    assert code == 550 and b"not-for-recipient" in reply
    assert not delivered(folder, "mbox-c4r01")


def test_unknown_addresses_are_refused_and_no_reply_names_a_mailbox(peers, gateway):
    folder, port = gateway
    replies = []
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        replies.append(smtp.ehlo("client")[1])
        replies.append(smtp.mail("alice@pli.test")[1])
        code, reply = smtp.rcpt("nobody@pli.test")
        replies.append(reply)
        assert code == 550 and b"5.1.1" in reply
        replies.append(smtp.rcpt("bob@pli.test")[1])
        replies.append(smtp.data(crlf(peers.sealed()))[1])
        replies.append(smtp.vrfy("bob@pli.test")[1])
        replies.append(smtp.expn("bob@pli.test")[1])
    joined = b"\n".join(replies)
    assert BOB_MAILBOX.encode() not in joined and b"mailboxes" not in joined and str(folder).encode() not in joined


def test_an_oversized_message_is_refused_and_the_session_goes_on(peers, gateway):
    folder, port = gateway
    big = peers.sealed() + b"X" * 76 + (b"\r\n" + b"X" * 76) * 4000   # ~300 KiB > 256 KiB limit
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("alice@pli.test")
        smtp.rcpt("bob@pli.test")
        code, reply = smtp.data(crlf(big))
        assert code == 552
        smtp.rset()
        smtp.mail("alice@pli.test")
        smtp.rcpt("bob@pli.test")
        assert smtp.data(crlf(peers.sealed()))[0] == 250


def test_a_garbage_dialogue_gets_errors_and_the_gateway_keeps_serving(peers, gateway):
    folder, port = gateway
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.recv(1024)
        sock.sendall(b"\x00\xff\xfe garbage\r\nDATA\r\nRCPT TO:<x>\r\nMAIL FROM:<<<>>>\r\n" + b"A" * 3000 + b"\r\n")
        time.sleep(0.3)
        answer = sock.recv(65536)
    codes = {line[:3] for line in answer.split(b"\r\n") if line}
    assert codes and all(code[:1] == b"5" for code in codes)
    assert send(port, peers.sealed())[0] == 250


def test_a_slow_client_is_disconnected_after_the_timeout(peers, tmp_path):
    with in_process_gateway(gateway_config(tmp_path, peers, timeout_seconds=1)) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.recv(1024)
            sock.sendall(b"EHLO slow\r\n")
            sock.recv(4096)
            sock.sendall(b"MAIL FROM:<alice@pli.test>\r\nRCPT TO:<bob@pli.test>\r\nDATA\r\n")
            start = time.monotonic()
            sock.sendall(b"Subject: trickle\r\n")   # ... and never the end of the data
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            assert time.monotonic() - start < 5
        assert not (tmp_path / "mailboxes").exists() or not delivered(tmp_path)


def test_connections_and_messages_per_client_are_limited(peers, tmp_path):
    config = gateway_config(tmp_path, peers, max_connections_per_client=2, max_messages_per_minute=2)
    with in_process_gateway(config) as port:
        first, second = smtplib.SMTP("127.0.0.1", port), smtplib.SMTP("127.0.0.1", port)
        first.ehlo()
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", port, timeout=5)
        assert refused.value.smtp_code == 421
        assert first.mail("alice@pli.test")[0] == 250
        first.rset()
        assert first.mail("alice@pli.test")[0] == 250
        first.rset()
        code, reply = first.mail("alice@pli.test")
        assert code == 450 and b"4.7.1" in reply
        first.quit()
        second.quit()


def test_starttls_with_the_configured_certificate_and_required_tls(peers, tmp_path):
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(cafile=str(cert))
    with in_process_gateway(gateway_config(tmp_path, peers, tls=(cert, key), tls_required=True)) as port:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
            code, _ = smtp.mail("alice@pli.test")
            assert code == 530
            smtp.starttls(context=context)
            smtp.ehlo()
            smtp.mail("alice@pli.test")
            smtp.rcpt("bob@pli.test")
            code, reply = smtp.data(crlf(peers.sealed()))
            assert code == 250
        delivered_raw = delivered(tmp_path)[0].read_bytes()
        assert b"with ESMTPS id" in delivered_raw


def test_a_full_disk_is_a_temporary_failure(peers, tmp_path):
    mount = tmp_path / "mailboxes"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        (mount / "filler").write_bytes(b"\0" * (60 * 1024))
        with in_process_gateway(gateway_config(tmp_path, peers, trace=False)) as port:
            code, reply = send(port, peers.sealed() + (b"X" * 70 + b"\r\n") * 200)
            assert code == 452 and b"4.3.1" in reply
            (mount / "filler").unlink()
            assert send(port, peers.sealed())[0] == 250
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed")
def test_swaks_as_a_client_gets_sealed_mail_accepted_and_plain_mail_refused(peers, gateway, tmp_path):
    folder, port = gateway
    sealed = tmp_path / "sealed.eml"
    sealed.write_bytes(peers.sealed())
    plain = tmp_path / "plain.eml"
    plain.write_bytes(plain_mail(2))
    base = ["swaks", "--server", f"127.0.0.1:{port}", "--from", "alice@pli.test", "--to", "bob@pli.test",
            "--helo", "swaks.pli.test", "--timeout", "10"]
    ok = subprocess.run([*base, "--data", str(sealed)], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stdout
    assert "250 2.0.0 Ok: queued as" in ok.stdout
    refused = subprocess.run([*base, "--data", str(plain)], capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0
    assert "550 5.7.1 refused (unsealed)" in refused.stdout
