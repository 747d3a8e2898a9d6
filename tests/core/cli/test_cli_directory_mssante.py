"""`pli dir import-mssante FILE`: the public MSSanté extract into the home's index (Home.mssante_index), through
the real command in a subprocess.  The extract is test_directory_mssante.py's invented rows under the published
31-column header."""
from __future__ import annotations

from pli.core.directory.mssante_index import MssDirectory
from pli.core.home import Home
from test_directory_setup import pli
from test_directory_mssante import ROWS
from test_mssante_index import extract_file


def test_the_extract_goes_into_the_homes_index_with_progress_on_stderr_and_the_summary_on_stdout(tmp_path):
    home = Home(tmp_path / "home")
    done = pli(home, "dir", "import-mssante", str(extract_file(tmp_path)))
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().splitlines() == [
        f"MSSanté directory imported: 5 mailboxes from 6 rows (1 row without a usable address skipped, "
        f"0 duplicates of an address already read) -> {home.mssante_index}"]
    assert "read 6 rows of the MSSanté extract" in done.stderr.decode()
    directory = MssDirectory(home.mssante_index)
    assert directory.lookup("cardiologie@ch-fictif.mssante.test").kind == "ORG"

    quiet = pli(home, "dir", "import-mssante", "--quiet", str(extract_file(tmp_path, ROWS[:2])))
    assert quiet.returncode == 0 and quiet.stderr == b""
    assert len(MssDirectory(home.mssante_index)) == 2           # a new extract replaces the old one whole


def test_a_malformed_extract_is_one_line_exit_1_and_the_imported_directory_stays(tmp_path):
    home = Home(tmp_path / "home")
    assert pli(home, "dir", "import-mssante", str(extract_file(tmp_path))).returncode == 0
    before = home.mssante_index.read_bytes()
    rpps = tmp_path / "PS_LibreAcces_Personne_activite.txt"
    rpps.write_text("Identifiant PP|Nom d'exercice\n10000000456|EXEMPLE\n", encoding="utf-8")
    for bad, says in ((rpps, "is not an MSSanté extract: 2 columns missing"),
                      (tmp_path / "absent.txt", "does not exist")):
        refused = pli(home, "dir", "import-mssante", str(bad))
        lines = refused.stderr.decode().splitlines()
        assert refused.returncode == 1 and refused.stdout == b""
        assert len(lines) == 1 and lines[0].startswith("pli: ") and says in lines[0], lines
    assert home.mssante_index.read_bytes() == before
    assert [p.name for p in home.mssante_index.parent.iterdir()] == ["mssante.sqlite"]


def test_o_writes_the_summary_the_command_prints(tmp_path):
    home = Home(tmp_path / "home")
    printed = pli(home, "dir", "import-mssante", "--quiet", str(extract_file(tmp_path)))
    report = tmp_path / "imported.txt"
    written = pli(home, "dir", "import-mssante", "--quiet", str(extract_file(tmp_path)), "-o", str(report))
    assert (written.returncode, written.stdout, written.stderr) == (0, b"", b"")
    assert report.read_bytes() == printed.stdout and printed.stdout.startswith(b"MSSant\xc3\xa9 directory imported: ")
