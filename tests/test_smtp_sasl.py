"""SASL mechanisms, both sides: RFC vectors, server step machines, and
Hypothesis round trips of every client mechanism into its server twin."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mimekit._saslprep import saslprep
from mimekit.smtp import SMTPNotSupportedError
from mimekit.smtp._sasl import (
    Challenge,
    CramMD5Credentials,
    Credentials,
    Failure,
    SASLError,
    ServerCramMD5,
    ServerLogin,
    ServerPlain,
    choose_mechanism,
    client_mechanism,
    decode_base64,
    encode_base64,
    server_mechanism,
    server_mechanisms,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- RFC vectors -------------------------------------------------------------------------


@pytest.mark.parametrize(("authzid", "user", "password", "message"), [
    # RFC 4616 section 4, the two examples.
    ("", "tim", "tanstaaftanstaaf", b"\x00tim\x00tanstaaftanstaaf"),
    ("Ursel", "Kurt", "xipj3plmq", b"Ursel\x00Kurt\x00xipj3plmq"),
])
def test_rfc4616_plain(authzid: str, user: str, password: str, message: bytes) -> None:
    mech = client_mechanism("plain", user, password, authzid=authzid)
    assert mech.initial_response() == b64(message)
    assert ServerPlain().step(b64(message)) == Credentials(
        authzid=authzid, username=user, password=password)


def test_rfc2195_cram_md5() -> None:
    nonce = b"<1896.697170952@postoffice.reston.mci.net>"
    server = ServerCramMD5(nonce=nonce)
    challenge = server.step(None)
    assert isinstance(challenge, Challenge)
    assert challenge.challenge == "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+"
    client = client_mechanism("CRAM-MD5", "tim", "tanstaaftanstaaf")
    assert client.initial_response() is None
    response = client.respond(challenge.challenge)
    assert response == "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
    done = server.step(response)
    assert isinstance(done, CramMD5Credentials) and done.username == "tim"
    assert done.digest == "b913a602c7eda7a495b4e6e7334d3890"
    assert done.verify("tanstaaftanstaaf") and not done.verify("wrong")
    assert done.password is None and done.challenge is None and done.error is None


def test_login_draft_exchange() -> None:
    server = ServerLogin()
    first = server.step(None)
    assert first == Challenge(challenge="VXNlcm5hbWU6")  # "Username:"
    client = client_mechanism("LOGIN", "alice", "s3cret")
    second = server.step(client.respond(first.challenge or ""))
    assert second == Challenge(challenge="UGFzc3dvcmQ6")  # "Password:"
    assert server.step(client.respond(second.challenge or "")) == Credentials(
        authzid="", username="alice", password="s3cret")
    # The user name as an initial response (AUTH LOGIN dXNlcg==).
    server = ServerLogin()
    assert server.step(b64(b"bob")) == Challenge(challenge="UGFzc3dvcmQ6")
    assert server.step(b64(b"pw")).password == "pw"


def test_login_client_prompts() -> None:
    client = client_mechanism("LOGIN", "u", "p")
    # Password asked first (odd, but answer what is asked), localized prompts by order.
    assert decode_base64(client.respond(b64(b"Password:"))) == b"p"
    other = client_mechanism("LOGIN", "u", "p")
    assert decode_base64(other.respond(b64(b"Benutzer"))) == b"u"
    assert decode_base64(other.respond(b64(b"Kennwort"))) == b"p"
    with pytest.raises(SASLError):
        other.respond(b64(b"third?"))


def test_xoauth2_client() -> None:
    client = client_mechanism("XOAUTH2", "someuser@example.com", token="ya29.vF9dft4")
    assert decode_base64(client.initial_response() or "") == (
        b"user=someuser@example.com\x01auth=Bearer ya29.vF9dft4\x01\x01")
    error = b64(b'{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}')
    assert client.respond(error) == ""  # the empty line that gets the final 535
    assert client.error == {"status": "401", "schemes": "bearer mac",
                            "scope": "https://mail.google.com/"}
    with pytest.raises(ValueError):
        client_mechanism("XOAUTH2", "u")
    with pytest.raises(ValueError):
        client_mechanism("XOAUTH2", "u", token="a\x01b")


def test_plain_client_answers_an_empty_challenge_and_refuses_others() -> None:
    client = client_mechanism("PLAIN", "u", "p")
    assert client.respond("") == client.initial_response()
    with pytest.raises(SASLError):
        client.respond(b64(b"what?"))


def test_client_mechanism_errors() -> None:
    with pytest.raises(ValueError):
        client_mechanism("PLAIN", "u\x00", "p")
    with pytest.raises(ValueError):
        client_mechanism("PLAIN", "u", "")
    with pytest.raises(ValueError):
        client_mechanism("LOGIN", "u")
    with pytest.raises(SMTPNotSupportedError):
        client_mechanism("SCRAM-SHA-1", "u", "p")
    with pytest.raises(SASLError):
        client_mechanism("CRAM-MD5", "u", "p").respond("not base64!")


# -- server failures -------------------------------------------------------------------------


@pytest.mark.parametrize(("mechanism", "steps", "code"), [
    ("PLAIN", ["*"], 501),
    ("PLAIN", ["!!!"], 501),
    ("PLAIN", [b64(b"a\x00b")], 501),                 # two parts
    ("PLAIN", [b64(b"a\x00b\x00c\x00d")], 501),       # four parts
    ("PLAIN", [b64(b"\x00user\x00")], 501),           # empty password
    ("PLAIN", [b64(b"\x00\x00pw")], 501),             # empty user
    ("PLAIN", [b64(b"\x00us\xffer\x00pw")], 501),     # not UTF-8
    ("PLAIN", [b64(b"\x00" + b"u" * 2000 + b"\x00pw")], 501),
    ("PLAIN", [None, None], 501),                     # no response to the challenge
    ("LOGIN", [None, "*"], 501),
    ("LOGIN", [None, "%%%"], 501),
    ("LOGIN", [None, b64(b"u"), b64(b"\xff")], 501),
    ("CRAM-MD5", [b64(b"initial")], 501),             # CRAM-MD5 has no initial response
    ("CRAM-MD5", [None, b64(b"tim nothex")], 501),
    ("CRAM-MD5", [None, b64(b"b913a602c7eda7a495b4e6e7334d3890")], 501),  # no user
    ("GSSAPI", [None], 504),
])
def test_server_failures(mechanism: str, steps: list[str | None], code: int) -> None:
    mech = server_mechanism(mechanism)
    *challenges, last = steps
    for data in challenges:
        assert isinstance(mech.step(data), Challenge)
    result = mech.step(last)
    assert isinstance(result, Failure) and result.code == code
    assert result.error and result.challenge is None and result.username is None
    assert result.reply.code == code and result.reply.enhanced == result.enhanced
    assert mech.done
    with pytest.raises(RuntimeError):
        mech.step(None)


def test_plain_without_initial_response_gets_an_empty_challenge() -> None:
    mech = server_mechanism("plain")
    first = mech.step(None)
    assert isinstance(first, Challenge) and first.challenge == ""
    assert first.reply.code == 334
    assert mech.step("=") == Failure(code=501, enhanced=(5, 5, 2),
                                     error="PLAIN: expected authzid NUL authcid NUL passwd")


def test_server_mechanisms() -> None:
    assert server_mechanisms() == ("PLAIN", "LOGIN")
    assert isinstance(server_mechanism("cram-md5"), ServerCramMD5)
    assert ServerCramMD5(hostname="mx.example").nonce.endswith(b"@mx.example>")


def test_base64_helpers() -> None:
    assert encode_base64(b"") == "=" and decode_base64("=") == b"" and decode_base64("") == b""
    with pytest.raises(SASLError):
        decode_base64("YQ")  # missing padding: not canonical
    with pytest.raises(SASLError):
        decode_base64("é")


# -- choosing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("offered", "tls", "token", "expected"), [
    ("PLAIN LOGIN CRAM-MD5", True, False, "CRAM-MD5"),
    ("PLAIN LOGIN CRAM-MD5", False, False, "CRAM-MD5"),
    ("LOGIN PLAIN", True, False, "PLAIN"),
    ("login", True, False, "LOGIN"),
    ("PLAIN XOAUTH2", True, True, "XOAUTH2"),
    ("CRAM-MD5 XOAUTH2", True, False, "CRAM-MD5"),
])
def test_choose_mechanism(offered: str, tls: bool, token: bool, expected: str) -> None:
    assert choose_mechanism(offered, tls=tls, have_token=token) == expected


@pytest.mark.parametrize(("offered", "tls", "token", "match"), [
    ("PLAIN LOGIN", False, False, "clear text"),
    ("XOAUTH2", False, True, "clear text"),
    ("GSSAPI NTLM", True, False, "no usable"),
    ("PLAIN", True, True, "no usable"),
    ("", True, False, "no usable"),
])
def test_choose_mechanism_refuses(offered: str, tls: bool, token: bool, match: str) -> None:
    with pytest.raises(SMTPNotSupportedError, match=match):
        choose_mechanism(offered, tls=tls, have_token=token)


# -- client <-> server round trips ----------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=40)


def _exchange(mechanism: str, user: str, password: str, authzid: str = "") -> object:
    client = client_mechanism(mechanism, user, password, authzid=authzid)
    server = server_mechanism(mechanism)
    result = server.step(client.initial_response())
    for _ in range(5):
        if not isinstance(result, Challenge):
            return result
        result = server.step(client.respond(result.challenge or ""))
    raise AssertionError("no end")


def _prepared(text: str) -> str:
    """SASLprep, or the text as given where SASLprep refuses it."""
    try:
        return saslprep(text, allow_unassigned=True)
    except ValueError:
        return text


@given(_text, _text, _text)
def test_plain_round_trip(user: str, password: str, authzid: str) -> None:
    """What arrives is what was given, prepared by SASLprep (RFC 4616), or
    as given where SASLprep refuses it (a control character...)."""
    expected = [_prepared(v) for v in (user, password, authzid)]
    if not expected[0] or not expected[1]:  # empty, or prepared away to nothing
        with pytest.raises(ValueError, match="empty"):
            client_mechanism("PLAIN", user, password, authzid=authzid)
        return
    assert _exchange("PLAIN", user, password, authzid) == Credentials(
        authzid=expected[2], username=expected[0], password=expected[1])


@given(_text, _text)
def test_login_round_trip(user: str, password: str) -> None:
    expected = [_prepared(v) for v in (user, password)]
    assert _exchange("LOGIN", user, password) == Credentials(
        authzid="", username=expected[0], password=expected[1])


@given(_text.filter(lambda u: u.strip(" ") == u and u != ""), _text)
def test_cram_md5_round_trip(user: str, password: str) -> None:
    result = _exchange("CRAM-MD5", user, password)
    assert isinstance(result, CramMD5Credentials) and result.username == user
    assert result.verify(password) and not result.verify(password + "x")
