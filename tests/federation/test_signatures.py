"""HTTP signatures: round trips, tampering, clocks, and interoperability with independent signers.

Independent implementations used here, so that our signer and verifier are not only checked
against each other:
- ``httpsig`` (draft-cavage, pycryptodome underneath) signs for our verifier and verifies our
  signatures;
- a hand-written draft-cavage signer on raw ``cryptography`` builds Mastodon-shaped and hs2019
  requests;
- ``http_message_signatures`` and ``requests-http-signature`` sign RFC 9421 requests.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import urlsplit

import httpsig
import pytest
import requests
import requests_http_signature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

from coopol.federation import signatures
from coopol.federation.signatures import (
    DigestMismatch,
    InvalidKey,
    InvalidSignature,
    MalformedSignature,
    MissingRequiredHeader,
    MissingSignature,
    SignatureError,
    SignedRequest,
    StaleRequest,
    UnsupportedAlgorithm,
    content_digest_header,
    digest_header,
    generate_rsa_keypair,
    key_owner_matches,
    load_private_key,
    load_public_key,
    parse_signature,
    sign_request,
    verify_digest,
    verify_request,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
KEY_ID = "https://a.example/actors/group#main-key"
INBOX = "https://b.example/inbox"
ACTIVITY = b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Like","id":"https://a.example/1"}'


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[str, str]:
    return generate_rsa_keypair()


@pytest.fixture(scope="module")
def other_rsa_keys() -> tuple[str, str]:
    return generate_rsa_keypair()


@pytest.fixture(scope="module")
def ed25519_keys() -> tuple[ed25519.Ed25519PrivateKey, str]:
    private_key = ed25519.Ed25519PrivateKey.generate()
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_key, public_pem.decode()


def received(method: str, url: str, headers, body: bytes = b"") -> SignedRequest:
    """What the inbox would build from the wire: path with query, headers as sent, raw body."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return SignedRequest(method=method, path=path, headers=headers, body=body)


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def cavage_sign(private_key, signing_lines: list[str], *, scheme: str = "pkcs1") -> str:
    """An independent draft-cavage signer on raw ``cryptography`` (not our code)."""
    message = "\n".join(signing_lines).encode()
    if scheme == "ed25519":
        raw = private_key.sign(message)
    elif scheme == "pss":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
        raw = private_key.sign(message, pss, hashes.SHA512())
    else:
        raw = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()


# --------------------------------------------------------------------------------- keys, digests


def test_generate_rsa_keypair_returns_pkcs8_private_and_spki_public_2048_bits(rsa_keys):
    private_pem, public_pem = rsa_keys
    assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    private_key = load_private_key(private_pem)
    assert private_key.key_size == 2048
    assert private_key.public_key().public_numbers() == load_public_key(public_pem).public_numbers()


def test_load_keys_reject_garbage_with_signature_errors():
    with pytest.raises(InvalidKey):
        load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    with pytest.raises(InvalidKey):
        load_private_key(b"not a key")


def test_digest_header_is_base64_sha256_with_algorithm_prefix():
    assert digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    expected = base64.b64encode(hashlib.sha256(ACTIVITY).digest()).decode()
    assert digest_header(ACTIVITY) == f"SHA-256={expected}"
    assert content_digest_header(ACTIVITY) == f"sha-256=:{expected}:"


def test_verify_digest_accepts_legacy_digest_and_rfc9530_content_digest():
    sha512 = base64.b64encode(hashlib.sha512(ACTIVITY).digest()).decode()
    verify_digest("Digest", digest_header(ACTIVITY), ACTIVITY)
    verify_digest("Digest", f"{digest_header(ACTIVITY)}, sha-512={sha512}", ACTIVITY)
    verify_digest("Content-Digest", content_digest_header(ACTIVITY), ACTIVITY)
    verify_digest("Content-Digest", f"sha-512=:{sha512}:", ACTIVITY)


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("Digest", digest_header(b"other body"), DigestMismatch),
        ("Content-Digest", content_digest_header(b"other body"), DigestMismatch),
        ("Digest", "SHA-256=not*base64", DigestMismatch),
        ("Content-Digest", "sha-256=not-a-byte-sequence", DigestMismatch),
        ("Digest", "MD5=" + base64.b64encode(hashlib.md5(ACTIVITY).digest()).decode(), UnsupportedAlgorithm),
    ],
)
def test_verify_digest_rejects_wrong_malformed_and_unknown_digests(name, value, error):
    with pytest.raises(error):
        verify_digest(name, value, ACTIVITY)


# ------------------------------------------------------------------------------- our own signer


def test_sign_request_post_adds_host_date_digest_and_signature_over_them(rsa_keys):
    headers = sign_request(
        "POST", INBOX, {"Content-Type": "application/activity+json"}, ACTIVITY, KEY_ID, rsa_keys[0], now=NOW
    )
    assert headers["Host"] == "b.example"
    assert headers["Date"] == "Wed, 01 May 2024 12:00:00 GMT"
    assert headers["Digest"] == digest_header(ACTIVITY)
    assert headers["Content-Type"] == "application/activity+json"
    assert headers["Signature"].startswith(
        f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="'
    )


def test_sign_request_get_signs_without_digest_and_keeps_non_default_port(rsa_keys):
    headers = sign_request(
        "GET", "https://b.example:8443/actors/x?page=2", {}, None, KEY_ID, rsa_keys[0], now=NOW
    )
    assert "Digest" not in headers
    assert headers["Host"] == "b.example:8443"
    assert 'headers="(request-target) host date"' in headers["Signature"]
    verified = verify_request(
        received("GET", "https://b.example:8443/actors/x?page=2", headers), rsa_keys[1], now=NOW
    )
    assert verified.covered == ("(request-target)", "host", "date")


def test_sign_request_replaces_caller_supplied_signature_headers_whatever_their_case(rsa_keys):
    stale = {
        "date": "Mon, 01 Jan 2001 00:00:00 GMT",
        "HOST": "evil.example",
        "Accept": "application/activity+json",
    }
    headers = sign_request("GET", INBOX, stale, None, KEY_ID, rsa_keys[0], now=NOW)
    assert sorted(headers) == ["Accept", "Date", "Host", "Signature"]
    assert headers["Host"] == "b.example"


def test_sign_request_refuses_a_non_rsa_key(ed25519_keys):
    pem = ed25519_keys[0].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidKey):
        sign_request("GET", INBOX, {}, None, KEY_ID, pem)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [("POST", INBOX, ACTIVITY), ("GET", "https://b.example/actors/group", None)],
)
def test_round_trip_sign_then_verify(rsa_keys, method, url, body):
    headers = sign_request(
        method, url, {"Accept": "application/activity+json"}, body, KEY_ID, rsa_keys[0], now=NOW
    )
    verified = verify_request(received(method, url, headers, body or b""), rsa_keys[1], now=NOW)
    assert verified.key_id == KEY_ID
    assert verified.scheme == signatures.CAVAGE
    assert verified.algorithm == "rsa-sha256"
    assert verified.signed_at == NOW


def test_round_trip_with_the_real_clock(rsa_keys):
    headers = sign_request("POST", INBOX, {}, ACTIVITY, KEY_ID, rsa_keys[0])
    assert verify_request(received("POST", INBOX, headers, ACTIVITY), rsa_keys[1]).key_id == KEY_ID


def test_verify_rejects_a_signature_made_with_another_key(rsa_keys, other_rsa_keys):
    headers = sign_request("POST", INBOX, {}, ACTIVITY, KEY_ID, other_rsa_keys[0], now=NOW)
    with pytest.raises(InvalidSignature):
        verify_request(received("POST", INBOX, headers, ACTIVITY), rsa_keys[1], now=NOW)


# ----------------------------------------------------------------------------------- tampering


def _flip_signature(headers: dict[str, str]) -> None:
    prefix, _, rest = headers["Signature"].partition('signature="')
    raw = bytearray(base64.b64decode(rest.rstrip('"')))
    raw[10] ^= 0x01
    headers["Signature"] = f'{prefix}signature="{base64.b64encode(bytes(raw)).decode()}"'


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        pytest.param(
            lambda r: {**r, "body": ACTIVITY.replace(b"Like", b"Dislike")}, DigestMismatch, id="body"
        ),
        pytest.param(
            lambda r: {**r, "body": b"{}", "headers": {**r["headers"], "Digest": digest_header(b"{}")}},
            InvalidSignature,
            id="body-and-its-digest",
        ),
        pytest.param(
            lambda r: {**r, "headers": {**r["headers"], "Host": "c.example"}}, InvalidSignature, id="host"
        ),
        pytest.param(lambda r: {**r, "path": "/users/someone/inbox"}, InvalidSignature, id="path"),
        pytest.param(lambda r: {**r, "path": "/inbox?x=1"}, InvalidSignature, id="query"),
        pytest.param(lambda r: {**r, "method": "PUT"}, InvalidSignature, id="method"),
        pytest.param(
            lambda r: {**r, "headers": {**r["headers"], "Date": http_date(NOW + timedelta(seconds=1))}},
            InvalidSignature,
            id="date",
        ),
        pytest.param(
            lambda r: {**r, "headers": _flipped(r["headers"])}, InvalidSignature, id="signature-bytes"
        ),
    ],
)
def test_tampering_with_a_signed_post_is_detected(rsa_keys, tamper, error):
    headers = sign_request("POST", INBOX, {}, ACTIVITY, KEY_ID, rsa_keys[0], now=NOW)
    original = {"method": "POST", "path": "/inbox", "headers": headers, "body": ACTIVITY}
    assert verify_request(SignedRequest(**original), rsa_keys[1], now=NOW)  # untouched, it verifies
    with pytest.raises(error):
        verify_request(SignedRequest(**tamper(original)), rsa_keys[1], now=NOW)


def _flipped(headers: dict[str, str]) -> dict[str, str]:
    copy = dict(headers)
    _flip_signature(copy)
    return copy


def test_error_status_hints_separate_bad_requests_from_failed_authentication():
    assert MalformedSignature.status_hint == DigestMismatch.status_hint == 400
    for error in (
        MissingSignature,
        InvalidSignature,
        StaleRequest,
        UnsupportedAlgorithm,
        MissingRequiredHeader,
    ):
        assert error.status_hint == 401
        assert issubclass(error, SignatureError)


# ---------------------------------------------------------------------------------------- clock


@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=2)], ids=["past", "future"])
def test_date_outside_the_window_is_stale(rsa_keys, offset):
    headers = sign_request("POST", INBOX, {}, ACTIVITY, KEY_ID, rsa_keys[0], now=NOW + offset)
    with pytest.raises(StaleRequest):
        verify_request(received("POST", INBOX, headers, ACTIVITY), rsa_keys[1], now=NOW)


@pytest.mark.parametrize("offset", [timedelta(seconds=-300), timedelta(seconds=300)], ids=["past", "future"])
def test_window_edges_are_inclusive_and_configurable(rsa_keys, offset):
    headers = sign_request("GET", INBOX, {}, None, KEY_ID, rsa_keys[0], now=NOW + offset)
    request = received("GET", INBOX, headers)
    verify_request(request, rsa_keys[1], now=NOW, max_skew_seconds=300)
    with pytest.raises(StaleRequest):
        verify_request(request, rsa_keys[1], now=NOW, max_skew_seconds=299)


def test_unparsable_date_is_malformed(rsa_keys):
    private_key = load_private_key(rsa_keys[0])
    lines = ["(request-target): get /inbox", "host: b.example", "date: yesterday-ish"]
    headers = {
        "Host": "b.example",
        "Date": "yesterday-ish",
        "Signature": f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="(request-target) host date",'
        f'signature="{cavage_sign(private_key, lines)}"',
    }
    with pytest.raises(MalformedSignature):
        verify_request(received("GET", INBOX, headers), rsa_keys[1], now=NOW)


# ------------------------------------------------------------------------ required coverage


def _cavage_headers(private_key, method, url, headers, signed, *, algorithm="rsa-sha256", scheme="pkcs1"):
    """Sign ``headers`` (a dict whose keys are the wire names) over ``signed`` with our test signer."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lowered = {name.lower(): value for name, value in headers.items()}
    lines = [
        f"(request-target): {method.lower()} {target}"
        if name == "(request-target)"
        else f"{name}: {lowered[name]}"
        for name in signed
    ]
    algorithm_param = f'algorithm="{algorithm}",' if algorithm else ""
    signature = cavage_sign(private_key, lines, scheme=scheme)
    covered = " ".join(signed)
    return {
        **headers,
        "Signature": f'keyId="{KEY_ID}",{algorithm_param}headers="{covered}",signature="{signature}"',
    }


def test_post_whose_signature_omits_the_digest_is_refused(rsa_keys):
    base = {"Host": "b.example", "Date": http_date(NOW), "Digest": digest_header(ACTIVITY)}
    headers = _cavage_headers(
        load_private_key(rsa_keys[0]), "POST", INBOX, base, ["(request-target)", "host", "date"]
    )
    request = received("POST", INBOX, headers, ACTIVITY)
    with pytest.raises(MissingRequiredHeader, match="digest"):
        verify_request(request, rsa_keys[1], now=NOW)
    # The requirement is a policy the caller may relax; the signature itself is sound.
    assert verify_request(request, rsa_keys[1], now=NOW, require_digest_for_body=False)


def test_post_without_any_digest_header_is_refused(rsa_keys):
    base = {"Host": "b.example", "Date": http_date(NOW)}
    headers = _cavage_headers(
        load_private_key(rsa_keys[0]), "POST", INBOX, base, ["(request-target)", "host", "date"]
    )
    with pytest.raises(MissingRequiredHeader):
        verify_request(received("POST", INBOX, headers, ACTIVITY), rsa_keys[1], now=NOW)


@pytest.mark.parametrize("left_out", ["(request-target)", "host", "date"])
def test_signature_must_cover_target_host_and_date(rsa_keys, left_out):
    base = {"Host": "b.example", "Date": http_date(NOW)}
    signed = [name for name in ["(request-target)", "host", "date"] if name != left_out]
    headers = _cavage_headers(load_private_key(rsa_keys[0]), "GET", INBOX, base, signed)
    with pytest.raises(MissingRequiredHeader, match=left_out.strip("()")):
        verify_request(received("GET", INBOX, headers), rsa_keys[1], now=NOW)


def test_a_signed_header_missing_from_the_request_is_refused(rsa_keys):
    base = {"Host": "b.example", "Date": http_date(NOW), "Accept": "application/activity+json"}
    headers = _cavage_headers(
        load_private_key(rsa_keys[0]), "GET", INBOX, base, ["(request-target)", "host", "date", "accept"]
    )
    del headers["Accept"]
    with pytest.raises(MissingRequiredHeader, match="accept"):
        verify_request(received("GET", INBOX, headers), rsa_keys[1], now=NOW)


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"Host": "b.example"}, MissingSignature),
        ({"Signature": 'keyId="x",headers="date"'}, MalformedSignature),
        ({"Signature": 'keyId="x",signature="!!!not base64!!!"'}, MalformedSignature),
        ({"Signature": 'keyId="x" signature="AAAA"'}, MalformedSignature),
        ({"Signature": 'keyId="x",keyId="y",signature="AAAA"'}, MalformedSignature),
        ({"Signature-Input": 'sig1=("@method");keyid="x"'}, MalformedSignature),
        ({"Signature-Input": "sig1=(((", "Signature": "sig1=:AAAA:"}, MalformedSignature),
    ],
)
def test_missing_and_malformed_signatures(rsa_keys, headers, error):
    with pytest.raises(error):
        verify_request(received("GET", INBOX, headers), rsa_keys[1], now=NOW)


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "rsa-sha1", "ecdsa-sha256"])
def test_unsupported_cavage_algorithms_are_refused(rsa_keys, algorithm):
    base = {"Host": "b.example", "Date": http_date(NOW)}
    headers = _cavage_headers(
        load_private_key(rsa_keys[0]),
        "GET",
        INBOX,
        base,
        ["(request-target)", "host", "date"],
        algorithm=algorithm,
    )
    with pytest.raises(UnsupportedAlgorithm):
        verify_request(received("GET", INBOX, headers), rsa_keys[1], now=NOW)


# ------------------------------------------------------------ other servers' draft-cavage shapes


def test_mastodon_shaped_post_with_extra_signed_headers_verifies(rsa_keys):
    # Mastodon signs every header it sends except User-Agent and Accept-Encoding.
    base = {
        "Host": "b.example",
        "Date": http_date(NOW - timedelta(seconds=42)),
        "Digest": digest_header(ACTIVITY),
        "Content-Type": "application/activity+json",
    }
    signed = ["(request-target)", "host", "date", "digest", "content-type"]
    headers = _cavage_headers(load_private_key(rsa_keys[0]), "POST", INBOX, base, signed)
    headers["Signature"] = headers["Signature"].replace(
        KEY_ID, "https://mastodon.example/users/alice#main-key"
    )
    # keyId is not part of the signing string, so renaming it keeps the signature valid.
    wire = [(name.upper() if name == "Date" else name, value) for name, value in headers.items()]
    wire += [("User-Agent", "http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.example/)")]
    verified = verify_request(received("POST", INBOX, wire, ACTIVITY), rsa_keys[1], now=NOW)
    assert verified.key_id == "https://mastodon.example/users/alice#main-key"
    assert verified.covered == tuple(signed)
    assert key_owner_matches(verified.key_id, "https://mastodon.example/users/alice")


def test_mastodon_shaped_get_in_any_header_order_verifies(rsa_keys):
    base = {
        "Host": "b.example",
        "Date": http_date(NOW),
        "Accept": "application/activity+json, application/ld+json",
    }
    headers = _cavage_headers(
        load_private_key(rsa_keys[0]), "GET", INBOX, base, ["date", "host", "(request-target)", "accept"]
    )
    assert verify_request(received("GET", INBOX, headers), rsa_keys[1], now=NOW)


@pytest.mark.parametrize(("scheme", "expected"), [("pkcs1", "rsa-sha256"), ("pss", "hs2019-rsa-pss-sha512")])
@pytest.mark.parametrize("algorithm", ["hs2019", None], ids=["hs2019", "no-algorithm-param"])
def test_hs2019_with_an_rsa_key_accepts_pkcs1_and_pss(rsa_keys, scheme, expected, algorithm):
    base = {"Host": "b.example", "Date": http_date(NOW), "Digest": digest_header(ACTIVITY)}
    headers = _cavage_headers(
        load_private_key(rsa_keys[0]),
        "POST",
        INBOX,
        base,
        ["(request-target)", "host", "date", "digest"],
        algorithm=algorithm,
        scheme=scheme,
    )
    verified = verify_request(received("POST", INBOX, headers, ACTIVITY), rsa_keys[1], now=NOW)
    assert verified.algorithm == expected


def test_rsa_sha256_does_not_fall_back_to_pss(rsa_keys):
    base = {"Host": "b.example", "Date": http_date(NOW)}
    headers = _cavage_headers(
        load_private_key(rsa_keys[0]), "GET", INBOX, base, ["(request-target)", "host", "date"], scheme="pss"
    )
    with pytest.raises(InvalidSignature):
        verify_request(received("GET", INBOX, headers), rsa_keys[1], now=NOW)


def test_hs2019_with_an_ed25519_key_verifies_and_detects_tampering(ed25519_keys):
    private_key, public_pem = ed25519_keys
    base = {"Host": "b.example", "Date": http_date(NOW), "Digest": digest_header(ACTIVITY)}
    signed = ["(request-target)", "host", "date", "digest"]
    headers = _cavage_headers(private_key, "POST", INBOX, base, signed, algorithm="hs2019", scheme="ed25519")
    assert verify_request(received("POST", INBOX, headers, ACTIVITY), public_pem, now=NOW).algorithm == (
        "hs2019-ed25519"
    )
    with pytest.raises(InvalidSignature):
        verify_request(received("POST", "https://b.example/other", headers, ACTIVITY), public_pem, now=NOW)
    claims_rsa = {**headers, "Signature": headers["Signature"].replace('"hs2019"', '"rsa-sha256"')}
    with pytest.raises(InvalidSignature):
        verify_request(received("POST", INBOX, claims_rsa, ACTIVITY), public_pem, now=NOW)


def test_cavage_created_and_expires_pseudo_headers_are_checked(ed25519_keys):
    private_key, public_pem = ed25519_keys
    created = int(NOW.timestamp())
    base = {"Host": "b.example", "Date": http_date(NOW)}
    lines = [
        "(request-target): get /inbox",
        "host: b.example",
        "date: " + base["Date"],
        f"(created): {created}",
        f"(expires): {created + 60}",
    ]
    value = (
        f'keyId="{KEY_ID}",algorithm="hs2019",created={created},expires={created + 60},'
        f'headers="(request-target) host date (created) (expires)",'
        f'signature="{cavage_sign(private_key, lines, scheme="ed25519")}"'
    )
    request = received("GET", INBOX, {**base, "Signature": value})
    assert verify_request(request, public_pem, now=NOW).covered[-2:] == ("(created)", "(expires)")
    with pytest.raises(StaleRequest, match="expired"):
        verify_request(request, public_pem, now=NOW + timedelta(seconds=120), max_skew_seconds=30)


# ------------------------------------------------------------------ interop: httpsig (PyPI)


def test_httpsig_signed_post_verifies_with_ours(rsa_keys):
    signer = httpsig.HeaderSigner(
        KEY_ID,
        rsa_keys[0],
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date", "digest", "content-type"],
        sign_header="signature",
    )
    base = {
        "Host": "b.example",
        "Date": http_date(NOW),
        "Digest": digest_header(ACTIVITY),
        "Content-Type": "application/activity+json",
    }
    headers = signer.sign(base, method="POST", path="/inbox")
    verified = verify_request(received("POST", INBOX, headers, ACTIVITY), rsa_keys[1], now=NOW)
    assert verified.key_id == KEY_ID
    tampered = received("POST", INBOX, headers, ACTIVITY.replace(b"Like", b"Flag"))
    with pytest.raises(DigestMismatch):
        verify_request(tampered, rsa_keys[1], now=NOW)


def test_httpsig_authorization_header_form_verifies_with_ours(rsa_keys):
    signer = httpsig.HeaderSigner(
        KEY_ID, rsa_keys[0], algorithm="rsa-sha256", headers=["(request-target)", "host", "date"]
    )
    headers = signer.sign({"Host": "b.example", "Date": http_date(NOW)}, method="GET", path="/actors/group")
    assert headers["authorization"].startswith("Signature ")
    request = received("GET", "https://b.example/actors/group", headers)
    assert parse_signature(request).key_id == KEY_ID
    assert verify_request(request, rsa_keys[1], now=NOW)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [("POST", "https://b.example/inbox?shared=1", ACTIVITY), ("GET", "https://b.example/actors/group", None)],
)
def test_our_signature_verifies_with_httpsig(rsa_keys, method, url, body):
    headers = sign_request(method, url, {}, body, KEY_ID, rsa_keys[0], now=NOW)
    path = url.removeprefix("https://b.example")
    required = ["(request-target)", "host", "date"] + (["digest"] if body is not None else [])
    verifier = httpsig.HeaderVerifier(
        headers, rsa_keys[1], required_headers=required, method=method, path=path, sign_header="signature"
    )
    assert verifier.verify() is True
    tampered = httpsig.HeaderVerifier(
        headers,
        rsa_keys[1],
        required_headers=required,
        method=method,
        path=path + "x",
        sign_header="signature",
    )
    assert tampered.verify() is False


# ------------------------------------------------------------------------------------ RFC 9421


class _Resolver(HTTPSignatureKeyResolver):
    def __init__(self, private_key):
        self.private_key = private_key

    def resolve_private_key(self, key_id):
        return self.private_key

    def resolve_public_key(self, key_id):
        raise NotImplementedError


class _Message:
    def __init__(self, method, url, headers):
        self.method, self.url, self.headers = method, url, headers


def rfc9421_request(
    private_key,
    algorithm,
    *,
    method="POST",
    url=INBOX,
    body=ACTIVITY,
    covered=("@method", "@authority", "@path"),
    created=NOW,
    include_alg=True,
):
    """Sign with http_message_signatures' own signer and return what our inbox would receive."""
    headers = {"Host": urlsplit(url).netloc, "Content-Type": "application/activity+json"}
    message = _Message(method, url, headers)
    HTTPMessageSigner(signature_algorithm=algorithm, key_resolver=_Resolver(private_key)).sign(
        message,
        key_id=KEY_ID,
        created=created,
        covered_component_ids=covered,
        body=body,
        include_alg=include_alg,
    )
    return received(method, url, message.headers, body or b"")


@pytest.mark.parametrize(
    ("algorithm", "include_alg"),
    [
        (algorithms.RSA_V1_5_SHA256, True),
        (algorithms.RSA_PSS_SHA512, True),
        (algorithms.RSA_V1_5_SHA256, False),
        (algorithms.RSA_PSS_SHA512, False),
    ],
)
def test_rfc9421_rsa_post_signed_by_the_library_verifies(rsa_keys, algorithm, include_alg):
    request = rfc9421_request(load_private_key(rsa_keys[0]), algorithm, include_alg=include_alg)
    assert "content-digest" in parse_signature(request).covered
    verified = verify_request(request, rsa_keys[1], now=NOW)
    assert verified.scheme == signatures.RFC9421
    assert verified.algorithm == algorithm.algorithm_id
    assert verified.key_id == KEY_ID
    assert verified.signed_at == NOW


def test_rfc9421_ed25519_get_over_target_uri_verifies(ed25519_keys):
    private_key, public_pem = ed25519_keys
    request = rfc9421_request(
        private_key,
        algorithms.ED25519,
        method="GET",
        url="https://b.example/actors/group?page=1",
        body=None,
        covered=("@method", "@target-uri"),
    )
    parsed = parse_signature(request)
    assert (parsed.scheme, parsed.key_id, parsed.algorithm) == (signatures.RFC9421, KEY_ID, "ed25519")
    assert verify_request(request, public_pem, now=NOW).algorithm == "ed25519"


@pytest.mark.parametrize(
    ("tamper", "error"),
    [
        pytest.param(lambda r: {**r, "body": b'{"type":"Delete"}'}, DigestMismatch, id="body"),
        pytest.param(lambda r: {**r, "path": "/elsewhere"}, InvalidSignature, id="path"),
        pytest.param(lambda r: {**r, "method": "PUT"}, InvalidSignature, id="method"),
        pytest.param(
            lambda r: {**r, "headers": {**r["headers"], "host": "c.example"}}, InvalidSignature, id="host"
        ),
        pytest.param(
            lambda r: {**r, "headers": {**r["headers"], "content-type": "text/plain"}},
            InvalidSignature,
            id="covered-header",
        ),
    ],
)
def test_rfc9421_tampering_is_detected(rsa_keys, tamper, error):
    request = rfc9421_request(
        load_private_key(rsa_keys[0]),
        algorithms.RSA_V1_5_SHA256,
        covered=("@method", "@authority", "@path", "content-type"),
    )
    original = {
        "method": request.method,
        "path": request.path,
        "headers": request.headers,
        "body": request.body,
    }
    assert verify_request(SignedRequest(**original), rsa_keys[1], now=NOW)
    with pytest.raises(error):
        verify_request(SignedRequest(**tamper(original)), rsa_keys[1], now=NOW)


@pytest.mark.parametrize("offset", [timedelta(hours=-3), timedelta(hours=3)], ids=["past", "future"])
def test_rfc9421_created_outside_the_window_is_stale(rsa_keys, offset):
    request = rfc9421_request(load_private_key(rsa_keys[0]), algorithms.RSA_V1_5_SHA256, created=NOW + offset)
    with pytest.raises(StaleRequest):
        verify_request(request, rsa_keys[1], now=NOW)


def test_rfc9421_post_whose_signature_omits_content_digest_is_refused(rsa_keys):
    request = rfc9421_request(load_private_key(rsa_keys[0]), algorithms.RSA_V1_5_SHA256, body=None)
    with_body = SignedRequest(request.method, request.path, request.headers, ACTIVITY)
    with pytest.raises(MissingRequiredHeader, match="digest"):
        verify_request(with_body, rsa_keys[1], now=NOW)


def test_rfc9421_must_cover_method_path_and_authority(rsa_keys):
    request = rfc9421_request(
        load_private_key(rsa_keys[0]), algorithms.RSA_V1_5_SHA256, covered=("@method", "@authority")
    )
    with pytest.raises(MissingRequiredHeader, match="@path"):
        verify_request(request, rsa_keys[1], now=NOW)


def test_rfc9421_unsupported_algorithm_is_refused():
    request = rfc9421_request(b"shared secret", algorithms.HMAC_SHA256)
    with pytest.raises(UnsupportedAlgorithm):
        verify_request(request, "irrelevant", now=NOW)


def test_rfc9421_wrong_key_is_invalid(rsa_keys, other_rsa_keys):
    request = rfc9421_request(load_private_key(other_rsa_keys[0]), algorithms.RSA_PSS_SHA512)
    with pytest.raises(InvalidSignature):
        verify_request(request, rsa_keys[1], now=NOW)


def test_rfc9421_request_signed_by_requests_http_signature_verifies(ed25519_keys):
    private_key, public_pem = ed25519_keys
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    auth = requests_http_signature.HTTPSignatureAuth(
        signature_algorithm=requests_http_signature.algorithms.ED25519,
        key=private_pem,
        key_id=KEY_ID,
        covered_component_ids=("@method", "@authority", "@target-uri"),
    )
    prepared = auth(requests.Request("POST", "https://b.example/inbox", data=ACTIVITY).prepare())
    # requests adds Host when it sends; the signature covers @authority, which our inbox reads from Host.
    wire = {"Host": "b.example", **prepared.headers}
    verified = verify_request(received("POST", INBOX, wire, prepared.body), public_pem)
    assert verified.scheme == signatures.RFC9421
    assert {"date", "content-digest", "@target-uri"} <= set(verified.covered)


# ------------------------------------------------------------------------------- small helpers


def test_signed_request_normalises_header_names_and_joins_repeated_fields():
    request = SignedRequest(
        "post", "/inbox", [("Accept", "a/b"), ("ACCEPT", "c/d"), ("Host", " b.example ")], None
    )
    assert request.method == "POST"
    assert request.body == b""
    assert request.header("accept") == "a/b, c/d"
    assert request.header("HOST") == "b.example"
    assert request.header("date") is None


def test_parse_signature_reports_scheme_and_key_id_before_any_key_is_fetched(rsa_keys):
    headers = sign_request("POST", INBOX, {}, ACTIVITY, KEY_ID, rsa_keys[0], now=NOW)
    parsed = parse_signature(received("POST", INBOX, headers, ACTIVITY))
    assert (parsed.scheme, parsed.key_id, parsed.algorithm) == (signatures.CAVAGE, KEY_ID, "rsa-sha256")
    assert parsed.covered == ("(request-target)", "host", "date", "digest")


@pytest.mark.parametrize(
    ("key_id", "actor_id", "expected"),
    [
        ("https://a.example/actors/group#main-key", "https://a.example/actors/group", True),
        ("https://a.example/actors/group#ed25519-key", "https://a.example/actors/group", True),
        ("https://a.example/actors/group", "https://a.example/actors/group", True),
        ("https://a.example/actors/groupie#main-key", "https://a.example/actors/group", False),
        ("https://evil.example/actors/group#main-key", "https://a.example/actors/group", False),
        ("https://a.example/actors/group/main-key", "https://a.example/actors/group", False),
        ("", "https://a.example/actors/group", False),
    ],
)
def test_key_owner_matches(key_id, actor_id, expected):
    assert key_owner_matches(key_id, actor_id) is expected
