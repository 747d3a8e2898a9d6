"""core/safe_xml.py: whatever the bytes, a document or XmlRefused naming the problem, never another error."""
from __future__ import annotations

import pytest

from pli.core.safe_xml import XmlRefused, parse_xml


def test_a_well_formed_document_is_read():
    assert parse_xml(b'<?xml version="1.0" encoding="UTF-8"?><a><b/></a>', "the report", 1000).tag == "a"


@pytest.mark.parametrize("data, reason", [
    # found by tests/core/lab/test_cda.py's damaged documents: a cut turned UTF-8 into U-F-8, and the
    # parser's LookupError escaped as an internal error
    (b'<?xml version="1.0" encoding="U-F-8"?><a/>', "names an encoding that does not exist"),
    (b"<a><b></a>", "not well-formed"),
    (b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', "DTD or entities"),
    (b"   ", "empty"),
])
def test_what_pli_will_not_read_is_refused_with_its_reason(data, reason):
    with pytest.raises(XmlRefused, match=reason):
        parse_xml(data, "the report", 1000)
