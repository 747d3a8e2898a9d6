"""Public key files (`pli init --trust-authority`, `pli dir trust`, `pli audit authorize`): whatever their
bytes, a key or one clear line naming the file, never a traceback or an internal error."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from directory_fixtures import Authority
from pli.core.cli import main
from pli.core.directory.keyfile import BadKeyFile, read_key_file, write_key_file

NON_ASCII = [
    "ed25519 AAAAé\n",                                   # an accent inside the base64
    "ed25519 ＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡ=\n",   # full-width letters
    "ed25519 🔑\n",
    "# clé de l'autorité\nédd25519 AAAA\n",                # a non-ASCII key type
]


@pytest.mark.parametrize("text", NON_ASCII)
def test_a_non_ascii_key_file_is_refused_in_one_line(tmp_path, text):
    path = tmp_path / "authority.pub"
    path.write_text(text, "utf-8")
    with pytest.raises(BadKeyFile) as refused:
        read_key_file(path)
    assert str(path) in str(refused.value)


@pytest.mark.parametrize("command", [["init", "--trust-authority"], ["dir", "trust"], ["audit", "authorize"]])
@pytest.mark.parametrize("text", NON_ASCII)
def test_commands_reading_a_non_ascii_key_file_exit_1_with_one_line(tmp_path, capsys, command, text):
    path = tmp_path / "authority.pub"
    path.write_text(text, "utf-8")
    code = main(["--home", str(tmp_path / "home"), *command, str(path)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("pli: ") and str(path) in err
    assert not (tmp_path / "home" / "directory" / "authority.pub").exists()


def test_a_good_key_file_still_reads(tmp_path):
    authority = Authority()
    write_key_file(tmp_path / "authority.pub", [authority.public], "une clé")
    assert read_key_file(tmp_path / "authority.pub") == [authority.public]


@given(st.binary(max_size=300) | st.text(max_size=120).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_bytes_give_keys_or_a_bad_key_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("keys") / "any.pub"
    path.write_bytes(data)
    try:
        keys = read_key_file(path)
    except BadKeyFile as error:
        assert "\n" not in str(error)
    else:
        assert all(len(k.raw) == 32 for k in keys)
