"""`pli import` / `pli new` on plain and mixed archives: idempotence, quarantine, nothing lost."""
import os
import subprocess
import sys

from pli.core.store import Store
from pli.core.store.importer import import_sources
from pli.core.store.layout import Layout

from store_fixtures import make_home, make_maildir, make_mbox, plain_mail, store_files

CLI = [sys.executable, "-c", "import sys; from pli.core.cli import main; sys.exit(main())"]


def test_mixed_archive_is_imported_once_and_reruns_add_nothing(tmp_path):
    home = make_home(tmp_path)
    src = tmp_path / "archive"
    make_maildir(src / "maildir", [plain_mail(i) for i in range(5)])
    make_mbox(src / "old.mbox", [plain_mail(i) for i in range(5, 9)])
    (src / "one.eml").write_bytes(plain_mail(9))
    first = import_sources(home, [src], workers=2, batch=3)
    assert sum(first.quarantined.values()) == 10 and first.quarantined["unsealed"] == 10
    files = store_files(home)
    second = import_sources(home, [src], workers=2, batch=3)
    assert second.already == 10 and second.imported == 0 and not second.quarantined
    assert store_files(home) == files
    with Store.open(home) as store:
        assert store.count("*") == 10
        assert store.count("tag:quarantine and tag:unsealed and tag:unread") == 10
        assert store.count("tag:inbox") == 0


def test_same_message_in_mbox_and_maildir_is_stored_once(tmp_path):
    home = make_home(tmp_path)
    make_maildir(tmp_path / "md", [plain_mail(1)])
    make_mbox(tmp_path / "box", [plain_mail(1)])
    report = import_sources(home, [tmp_path / "md", tmp_path / "box"], workers=1)
    assert report.quarantined["unsealed"] == 1 and report.already == 1


def test_quarantined_copy_cannot_pose_as_verified_or_take_a_real_message_id(tmp_path):
    home = make_home(tmp_path)
    forged = plain_mail(1, extra="X-Pli-Verified: yes\nX-Pli-Sender: Dr Trusted <t@example.org>\n")
    (tmp_path / "forged.eml").write_bytes(forged)
    import_sources(home, [tmp_path / "forged.eml"], workers=1)
    with Store.open(home) as store:
        (row,) = store.window("*", 0, 10)
        raw = store.read_clear(row.message_id)
    assert row.message_id.endswith("@quarantine.pli.invalid") and not row.verified
    assert raw.count(b"X-Pli-Verified") == 1 and b"X-Pli-Verified: no\n" in raw
    assert b"Dr Trusted" not in raw
    assert b"X-Pli-Original-Message-Id: <plain1@example.org>" in raw


def test_a_bad_message_does_not_stop_the_batch(tmp_path):
    home = make_home(tmp_path)
    src = make_maildir(tmp_path / "src", [plain_mail(1), b"", b"\x00\xff garbage \xfe", plain_mail(2)])
    unreadable = src / "new" / "zz-unreadable"
    unreadable.write_bytes(plain_mail(3))
    unreadable.chmod(0)
    report = import_sources(home, [src], workers=1)
    if os.geteuid() != 0:  # root reads anything
        assert [f.reason for f in report.failed] == ["unreadable"]
    assert report.quarantined["unsealed"] >= 4
    with Store.open(home) as store:
        assert store.count("*") == sum(report.quarantined.values())


def test_pli_new_takes_what_was_delivered_and_leaves_incoming_empty(tmp_path):
    home = make_home(tmp_path)
    incoming = Layout(home).incoming
    for i in range(4):
        (incoming / "new" / f"{i}.delivered").write_bytes(plain_mail(i))
    first = import_sources(home, None, workers=1)
    assert sum(first.quarantined.values()) == 4
    assert not os.listdir(incoming / "new")
    (incoming / "new" / "late").write_bytes(plain_mail(9))
    (incoming / "new" / "again").write_bytes(plain_mail(1))  # delivered twice
    second = import_sources(home, None, workers=1)
    assert sum(second.quarantined.values()) == 1 and second.already == 1
    assert not os.listdir(incoming / "new")
    # the originals are kept in the store even though incoming was emptied
    assert len(list(Layout(home).sealed.glob("*/*"))) == 5


def test_cli_import_prints_summary_naming_quarantined_messages(tmp_path):
    home = make_home(tmp_path)
    (tmp_path / "a.eml").write_bytes(plain_mail(1))
    done = subprocess.run(CLI + ["--home", str(home.root), "import", str(tmp_path / "a.eml")],
                          capture_output=True, text=True, env={**os.environ})
    assert done.returncode == 0, done.stderr
    assert "1 quarantined" in done.stdout and f"unsealed: {tmp_path / 'a.eml'}" in done.stdout
    search = subprocess.run(CLI + ["--home", str(home.root), "search", "--format", "json", "quarantine"],
                            capture_output=True, text=True, env={**os.environ})
    assert '"subject": "plain message 1"' in search.stdout


def test_cli_search_limit_and_show(tmp_path):
    home = make_home(tmp_path)
    import_sources(home, [make_maildir(tmp_path / "src", [plain_mail(i) for i in range(5)])], workers=1)

    def pli(*args):
        done = subprocess.run(CLI + ["--home", str(home.root), *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    lines = pli("search", "--limit", "2", "quarantine").splitlines()
    assert len(lines) == 2 and "plain message 4" in lines[0] and "plain message 3" in lines[1]
    message_id = lines[0].rsplit("id:", 1)[1]
    shown = pli("show", f"id:{message_id}")
    assert shown.startswith("X-Pli-Verified: no\n") and "body 4" in shown
    summary = pli("show", "--summary", message_id)
    assert summary.splitlines()[0] == lines[0] and "body 4" in summary
    assert pli("search", "subject:nothing-like-this") == ""


def test_the_stored_body_is_the_senders_byte_for_byte_whatever_the_line_ends(tmp_path):
    """The X-Pli-* fields go in front of the header; the body keeps every byte (an empty line used to
    appear at its top, and a report sent as the body started one line down)."""
    home = make_home(tmp_path)
    lf = plain_mail(1)
    crlf = plain_mail(2).replace(b"\n", b"\r\n")
    (tmp_path / "lf.eml").write_bytes(lf)
    (tmp_path / "crlf.eml").write_bytes(crlf)
    import_sources(home, [tmp_path / "lf.eml", tmp_path / "crlf.eml"], workers=1)
    with Store.open(home) as store:
        stored = [store.read_clear(row.message_id) for row in store.window("*", 0, 10)]
    for original in (lf, crlf):
        blank = b"\r\n\r\n" if b"\r\n" in original else b"\n\n"
        body = original.split(blank, 1)[1]
        assert any(s.endswith(blank + body) and not s.endswith(blank + b"\r\n" + body)
                   and not s.endswith(blank + b"\n" + body) for s in stored)
