"""pli's query shortcuts expand to the notmuch queries they stand for, and only those."""
import pytest

from pli.core.store.query import expand, patient_slug


@pytest.mark.parametrize("user, notmuch", [
    ("", "*"),
    ("abnormal", "tag:abnormal"),
    ("critical and tag:inbox", "tag:critical and tag:inbox"),
    ("from:lab (lab or unread)", "from:lab (tag:lab or tag:unread)"),
    ("reason:bad-mac", "tag:bad-mac"),
    ('patient:"Marie Dupont"', '(tag:"patient:marie-dupont" or Patient:"Marie Dupont")'),
    ("patient:dupont", '(tag:"patient:dupont" or Patient:dupont)'),
    ('"lab"', '"lab"'),                       # quoted: the word, not the tag
    ("subject:abnormal", "subject:abnormal"),  # a prefixed term is left alone
    ("not quarantine", "not tag:quarantine"),
])
def test_shortcuts_expand_to_notmuch_queries(user, notmuch):
    assert expand(user) == notmuch


@pytest.mark.parametrize("user", ["abnormal and patient:dupont", 'patient:"A B" or lab', "tag:x", ""])
def test_expansion_is_idempotent(user):
    assert expand(expand(user)) == expand(user)


def test_patient_slug_matches_tag_form():
    assert patient_slug("  DUPONT Marie ") == "dupont-marie"
    assert patient_slug("Zoë O'Neil") == "zo-o-neil"
