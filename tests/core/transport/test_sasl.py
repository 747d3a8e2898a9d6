"""The token mechanisms' bytes, checked against the published examples, and the server's error challenge in words.

Vectors: RFC 7628 §4.1 (OAUTHBEARER initial response) and §3.2.2 (error
challenge); Google's XOAUTH2 protocol page (initial response and its base64,
and the {"status":"401"...} challenge).  The exchanges with a real server
are in test_transport_mssante_accounts.py.
"""
from __future__ import annotations

import base64

import pytest

from pli.core.transport.sasl import (LoginRefused, OAuthExchange, ServerError, oauthbearer_response,
                                     parse_server_error, xoauth2_response)

RFC7628_TOKEN = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
GOOGLE_TOKEN = "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"


def test_oauthbearer_initial_response_is_rfc7628_example():
    # RFC 7628 §4.1: n,a=user@example.com,^Ahost=server.example.com^Aport=143^Aauth=Bearer vF9d...==^A^A
    expected = (b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer "
                + RFC7628_TOKEN.encode() + b"\x01\x01")
    assert oauthbearer_response("user@example.com", RFC7628_TOKEN, "server.example.com", 143) == expected


def test_xoauth2_initial_response_is_googles_example_byte_for_byte():
    expected_b64 = ("dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJo"
                    "ZG1semRHRXVZMjl0Q2cBAQ==")
    raw = xoauth2_response("someuser@example.com", GOOGLE_TOKEN)
    assert base64.b64encode(raw).decode() == expected_b64


def test_an_authzid_with_a_comma_or_equals_sign_is_escaped_as_gs2_requires():
    raw = oauthbearer_response("a,b=c@op.test", "t0k")
    assert raw.startswith(b"n,a=a=2Cb=3Dc@op.test,\x01")


@pytest.mark.parametrize("challenge, status, words", [
    (b'{"status":"invalid_token","scope":"example_scope",'
     b'"openid-configuration":"https://example.com/.well-known/openid-configuration"}',
     "invalid_token", "not valid"),                                         # RFC 7628 §3.2.2
    (b'{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}', "401", "not valid"),  # Google
    (b'{"status":"insufficient_scope","scope":"mail"}', "insufficient_scope", "needs the scope mail"),
    (b'{"status":"418"}', "418", "status 418"),
])
def test_server_error_challenges_read_in_plain_words(challenge, status, words):
    error = parse_server_error(challenge)
    assert error.status == status and words in error.words


def test_an_unreadable_challenge_is_an_unknown_refusal_not_a_crash():
    for junk in (b"\xff\xfe", b"not json", b"[1, 2]", b""):
        assert parse_server_error(junk) == ServerError()
    assert "status ?" in ServerError().words


def test_the_exchange_answers_an_error_challenge_as_each_mechanism_requires_and_reports_it():
    bearer = OAuthExchange("oauthbearer", "dr.martin", "t0k", "imap.op.test", 993)
    assert bearer.imap(b"").startswith(b"n,a=dr.martin,")
    assert bearer.imap(b'{"status":"invalid_token"}') == b"\x01"       # RFC 7628 §3.2.3: a lone kvsep
    xoauth2 = OAuthExchange("XOAUTH2", "dr.martin", "t0k")
    assert xoauth2.smtp() == xoauth2_response("dr.martin", "t0k").decode()
    assert xoauth2.smtp(b'{"status":"401"}') == ""                      # Google: an empty response
    refused = xoauth2.refused("smtp.op.test:465")
    assert isinstance(refused, LoginRefused) and refused.status == "401"
    assert "not valid" in str(refused) and "t0k" not in str(refused)


def test_the_token_never_shows_in_a_repr_or_an_error():
    exchange = OAuthExchange("XOAUTH2", "dr.martin", "secret-token-value")
    assert "secret-token-value" not in repr(exchange)
    assert "secret-token-value" not in str(exchange.refused("imap.op.test:993", "NO [AUTHENTICATIONFAILED]"))


def test_a_token_or_user_that_would_break_the_framing_is_refused():
    with pytest.raises(LoginRefused, match="not a bearer token"):
        xoauth2_response("dr.martin", "two words")
    with pytest.raises(LoginRefused, match="not a bearer token"):
        oauthbearer_response("dr.martin", "tok\x01auth=Bearer other")
    with pytest.raises(LoginRefused, match="username"):
        xoauth2_response("dr\x01martin", "tok")
    with pytest.raises(ValueError):
        OAuthExchange("PLAIN", "dr.martin", "tok")
