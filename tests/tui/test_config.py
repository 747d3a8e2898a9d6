"""The [searches] and [keys] tables of config.toml."""
import pytest

from pli.core.errors import ConfigError
from pli.tui.config import DEFAULT_SEARCHES, SavedSearch, load_tui_config


def test_missing_config_gives_the_default_searches(tmp_path):
    config = load_tui_config(tmp_path / "config.toml")
    assert config.searches == DEFAULT_SEARCHES and config.keys == {}


def test_user_searches_follow_the_defaults_and_keys_are_read(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[searches]\n"Potassium" = "subject:K+"\n[keys]\n"triage.archive" = "y"\n')
    config = load_tui_config(path)
    assert config.searches[-1] == SavedSearch("Potassium", "subject:K+")
    assert config.keys == {"triage.archive": "y"}


def test_broken_config_is_a_config_error_naming_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[searches\n")
    with pytest.raises(ConfigError, match="config.toml"):
        load_tui_config(path)
