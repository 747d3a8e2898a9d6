"""check_stored without an installed directory: what the store recorded, and none of the directory's code loaded.

The TUI's preview asks check_stored of the first message while pli starts; loading the directory's
readers and their signature code (cryptography) there cost the first screen ~50 ms for nothing when
the home has no directory.  With a directory installed, tests/core/directory/test_revocation.py shows
the revocation applied (`pli show`, the import)."""
from __future__ import annotations

import json
import subprocess
import sys

from pli.core.directory.paths import installed_path
from pli.core.directory.stored import check_stored
from pli.core.home import Home

FIELDS = {"x-pli-verified": "yes", "x-pli-fingerprint": "ab" * 20, "x-pli-warning": "recorded at import"}

PROBE = """
import json, sys
from pli.core.directory.stored import check_stored
from pli.core.home import Home
line, refused = check_stored(Home(sys.argv[1]), json.loads(sys.argv[2]))
print(json.dumps([line, refused, sorted(m for m in ("cryptography", "pli.core.directory.directory",
                  "pli.core.directory.recipients", "pli.core.directory.resolve") if m in sys.modules)]))
"""


def test_without_a_directory_the_recorded_line_stands_and_no_directory_code_loads(tmp_path):
    home = Home(tmp_path / "home")
    assert not installed_path(home).exists()
    out = subprocess.run([sys.executable, "-c", PROBE, str(home.root), json.dumps(FIELDS)],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == ["recorded at import", False, []]


def test_a_damaged_installed_directory_is_read_and_leaves_what_the_store_recorded(tmp_path):
    home = Home(tmp_path / "home")
    installed_path(home).parent.mkdir(parents=True)
    installed_path(home).write_bytes(b"not a signed directory")
    assert check_stored(home, FIELDS) == ("recorded at import", False)


def test_an_unverified_message_keeps_its_recorded_line(tmp_path):
    assert check_stored(Home(tmp_path / "home"), {**FIELDS, "x-pli-verified": "no"}) == ("recorded at import", False)
