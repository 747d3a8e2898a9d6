"""The shared config file: sections are read apart, a broken file is a clear error."""
import pytest

from pli.core.config import config_section
from pli.core.errors import ConfigError


def test_a_missing_file_or_section_reads_as_empty(tmp_path):
    path = tmp_path / "config.toml"
    assert config_section(path, "store") == {}
    path.write_text("[lab]\nhprim_folder = '/srv/hprim'\n")
    assert config_section(path, "store") == {}
    assert config_section(path, "lab") == {"hprim_folder": "/srv/hprim"}


def test_a_broken_file_names_the_file_and_what_to_do(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[store\nworkers = 2\n")
    with pytest.raises(ConfigError, match=r"cannot read .*config.toml.*fix or remove the file"):
        config_section(path, "store")


def test_a_section_that_is_not_a_table_is_refused(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("keys = 'a'\n")
    with pytest.raises(ConfigError, match=r"\[keys\] must be a table; pli uses the defaults"):
        config_section(path, "keys", "pli uses the defaults")
