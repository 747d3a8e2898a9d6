"""`pli doctor` on a home with an MSSanté account (issue 16, last steps, 2): its settings and TLS material, with
--online its own IMAP and submission logins against the real test operator (Dovecot, TLS from a test CA, token
logins), and the imported MSSanté directory.  Each failure is a finding with what fixes it, and exit 1."""
from __future__ import annotations

from mssante_fixtures import mss_home, operator  # noqa: F401 - operator is a fixture
from pki_fixtures import TestCa
from pli.core.directory.mssante_index import import_extract
from test_doctor import doctor, line
from test_mssante_index import extract_file


def test_a_good_mssante_account_passes_online_and_the_imported_directory_opens(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    import_extract(extract_file(tmp_path), home.mssante_index)
    status, out = doctor(home, "--online")
    assert status == 0, out
    imap, smtp = f"localhost:{operator.imaps_port}", f"localhost:{operator.submissions_port}"
    assert line(out, "account mss", "ok") == [
        f"account mss ok MSSanté, xoauth2 login, trusts the CA bundle {operator.test_ca.cert_path}; "
        f"smtp {smtp} (tls, login dr.martin), imap {imap} (tls, login dr.martin)",
        f"account mss ok imap {imap}: logged in, TLS checked, folder INBOX opens",
        f"account mss ok smtp {smtp}: logged in, TLS checked"]
    assert line(out, "account mss", "FAIL") == []
    [directory] = line(out, "mssante directory", "ok")
    assert directory.startswith("mssante directory ok 5 mailboxes, imported ")


def test_a_server_certificate_from_another_ca_is_a_finding_naming_ca_file_and_exit_1(operator, tmp_path):
    other = TestCa(tmp_path / "other-ca", "other CA")
    home, _ = mss_home(tmp_path, operator, "dr.martin", ca_file=str(other.cert_path))
    status, out = doctor(home, "--online")
    assert status == 1
    failures = line(out, "account mss", "FAIL")
    assert [f.split()[3] for f in failures] == ["imap", "smtp"]
    for failure in failures:
        assert f"the CA bundle {other.cert_path}" in failure
        assert failure.endswith(f"fix: set ca_file in [accounts.mss] of {home.config} to your operator's CA bundle "
                                "(the IGC-Santé chain)")
    assert "3 problems" not in out and out.rstrip().endswith("2 problems, 0 warnings")
    offline, out = doctor(home)                        # without --online the servers are not asked
    assert offline == 0 and line(out, "account mss", "FAIL") == []


def test_a_refused_token_is_a_finding_naming_the_token_command(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    (home.root / "bin" / "get-token").write_text("#!/bin/sh\necho not-a-token-the-server-signed\n")
    status, out = doctor(home, "--online")
    assert status == 1
    failures = line(out, "account mss", "FAIL")
    assert len(failures) == 2 and all("check username and token_command" in f for f in failures), failures


def test_a_misconfigured_account_and_a_damaged_directory_are_findings_offline(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin", auth="certificate", token_command=None)
    status, out = doctor(home)
    assert status == 1
    [failure] = line(out, "account mss", "FAIL")
    assert 'auth = "certificate" needs client_cert' in failure
    assert failure.endswith(f"fix: fix [accounts.mss] of {home.config} (docs/MSSANTE.md, set-up)")
    assert line(out, "mssante directory", "ok") == [
        "mssante directory ok not imported (MSSanté addresses are not completed)"]     # missing is fine
    home.mssante_index.parent.mkdir(parents=True, exist_ok=True)
    home.mssante_index.write_bytes(b"not sqlite at all" * 100)
    status, out = doctor(home)
    [damaged] = line(out, "mssante directory", "FAIL")
    assert "is damaged: import the extract again" in damaged
    assert damaged.endswith("fix: pli dir import-mssante FILE (the latest Extraction_Correspondance_MSSante of "
                            "annuaire.sante.fr)")


def test_a_folder_the_server_does_not_have_is_a_finding_after_a_good_login(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin", imap_folder="Nowhere")
    status, out = doctor(home, "--online")
    assert status == 1
    [failure] = line(out, "account mss", "FAIL")
    assert failure == (f"account mss FAIL imap localhost:{operator.imaps_port}: logged in, but there is no folder "
                       "Nowhere | fix: set imap_folder in [accounts.mss] to a folder the server has")
