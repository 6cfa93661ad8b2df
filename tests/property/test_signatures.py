"""HTTP signatures (coopol/federation/signatures.py): parsing never raises anything but SignatureError,
what we sign verifies, and any tampering fails."""

from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coopol.federation.signatures import (
    SignatureError,
    SignedRequest,
    generate_rsa_keypair,
    parse_signature,
    sign_request,
    verify_request,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SIGNATURE_CHARS = st.sampled_from(list('keyIdalgorithmheaderssignaturecreatedexpires="=,; ()\\-*:0123456789+/AZaz'))
NEAR = st.text(alphabet=SIGNATURE_CHARS, max_size=160)
HEADER_VALUE = st.one_of(st.text(max_size=160), NEAR)
PATH_CHARS = st.sampled_from(list("abcxyz0123456789-._~/%?=&"))
# As an HTTP client sends them: a bare trailing "?" (an empty query) is not sent, so it is not signed.
PATHS = st.text(alphabet=PATH_CHARS, max_size=40).map(lambda p: "/" + p).filter(lambda p: not p.endswith("?"))
RSA = settings(max_examples=60)  # an RSA signature per example: fewer of them keep the family quick
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE"])


@pytest.fixture(scope="module")
def keys():
    return generate_rsa_keypair()  # (private, public) PEM


@given(st.dictionaries(st.sampled_from(["signature", "signature-input", "authorization", "date", "host",
                                        "digest", "content-digest"]), HEADER_VALUE, max_size=5))
@example({"signature": 'keyId="k",signature="AAAA",created=\u00b2'})  # "²".isdigit(), int("²") fails
@example({"signature": 'keyId="k",signature="AAAA",expires=\u0661\u0662'})
def test_parsing_any_headers_raises_only_signature_errors(headers):
    request = SignedRequest("POST", "/inbox", headers, b"{}")
    try:
        parse_signature(request)
    except SignatureError:
        pass


@given(st.dictionaries(st.sampled_from(["signature", "signature-input", "authorization", "date", "host",
                                        "digest", "content-digest"]), HEADER_VALUE, max_size=5),
       st.binary(max_size=64))
def test_verifying_any_headers_raises_only_signature_errors(keys, headers, body):
    request = SignedRequest("POST", "/inbox", headers, body)
    with pytest.raises(SignatureError):
        verify_request(request, keys[1], now=NOW)


def _signed(keys, method, path, body):
    headers = sign_request(method, f"https://ally.example{path}", {"Content-Type": "application/activity+json"},
                           body, "https://ally.example/actor#main-key", keys[0], now=NOW)
    return headers


@RSA
@given(METHODS, PATHS, st.one_of(st.none(), st.binary(max_size=512)))
def test_what_we_sign_verifies(keys, method, path, body):
    headers = _signed(keys, method, path, body)
    verified = verify_request(SignedRequest(method, path, headers, body or b""), keys[1], now=NOW)
    assert verified.key_id == "https://ally.example/actor#main-key"


@RSA
@given(METHODS, PATHS, st.binary(min_size=1, max_size=256), st.data())
def test_any_tampering_fails(keys, method, path, body, data):
    headers = _signed(keys, method, path, body)
    change = data.draw(st.sampled_from(["body", "path", "method", "host", "date", "signature", "digest"]))
    request_method, request_path, request_body = method, path, body
    if change == "body":
        position = data.draw(st.integers(0, len(body) - 1))
        request_body = body[:position] + bytes([body[position] ^ data.draw(st.integers(1, 255))]) + body[position + 1:]
    elif change == "path":
        request_path = path + data.draw(st.sampled_from(["x", "/", "?a=1", "%20"]))
    elif change == "method":
        request_method = data.draw(st.sampled_from([m for m in ("GET", "POST", "PUT", "DELETE", "PATCH")
                                                    if m != method]))
    elif change == "host":
        headers["Host"] = data.draw(st.sampled_from(["evil.example", "ally.example:8443", "ally.example.evil"]))
    elif change == "date":
        headers["Date"] = "Tue, 01 Dec 2026 10:00:01 GMT"
    elif change == "signature":
        value = headers["Signature"]
        start = value.index('signature="') + len('signature="')
        # Inside the base64, short of its last character, whose low bits are padding that decoders ignore.
        position = data.draw(st.integers(start, len(value) - 5))
        replacement = "A" if value[position] != "A" else "B"
        headers["Signature"] = value[:position] + replacement + value[position + 1:]
    else:
        headers["Digest"] = "SHA-256=" + "A" * 43 + "="
    with pytest.raises(SignatureError):
        verify_request(SignedRequest(request_method, request_path, headers, request_body), keys[1], now=NOW)
