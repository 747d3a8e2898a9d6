"""The TUI's part of the config file (config.toml in the home): saved searches and key bindings.

    [searches]
    "Dr Martin's patients" = "from:martin and lab"

    [keys]
    "triage.archive" = "a,y"      # binding id = comma-separated keys (see `?` in pli)

A broken config file is reported, not fatal: pli opens with the defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pli.core import vocab
from pli.core.config import config_section


@dataclass(frozen=True)
class SavedSearch:
    name: str
    query: str


#: The sidebar's fixed searches; queries use pli's shortcuts (see pli.core.store.query).
DEFAULT_SEARCHES = (
    SavedSearch("Inbox", "tag:inbox"),
    SavedSearch("Critical", "critical and tag:inbox"),
    SavedSearch("Abnormal", "abnormal and tag:inbox"),
    SavedSearch("Lab results", vocab.LAB),
    SavedSearch("Unread", vocab.UNREAD),
    SavedSearch("Flagged", "tag:flagged"),
    SavedSearch("Sent", "tag:sent"),
    SavedSearch("Quarantine", vocab.QUARANTINE),
    SavedSearch("Trash", "tag:deleted"),   # d moves there; notmuch's searches leave it out otherwise
)


@dataclass(frozen=True)
class TuiConfig:
    searches: tuple[SavedSearch, ...] = DEFAULT_SEARCHES
    keys: dict[str, str] = field(default_factory=dict)


def load_tui_config(path: Path) -> TuiConfig:
    """Read [searches] and [keys]; a missing file means defaults, a broken one raises ConfigError."""
    consequence = "pli uses the default searches and keys"
    searches = config_section(path, "searches", consequence)
    keys = config_section(path, "keys", consequence)
    user = tuple(SavedSearch(str(name), str(query)) for name, query in searches.items())
    return TuiConfig(DEFAULT_SEARCHES + user, {str(k): str(v) for k, v in keys.items()})
