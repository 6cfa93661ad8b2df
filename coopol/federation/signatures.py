"""HTTP signatures for federation: sign outgoing requests, verify incoming ones.

This module is pure on purpose. It knows nothing of Flask, the database or the network: it takes
a method, a path, headers, body bytes and a PEM key, and it returns headers or raises. The inbox,
the delivery worker, the CLI and the tests all call the same functions, fetching keys and mapping
errors to HTTP statuses in their own layers (the Takahē pattern; see STYLE.md). Keeping I/O out
also keeps every rule here testable with fixed clocks and hand-made requests.

Outgoing requests are signed with draft-cavage-12 ``rsa-sha256`` over
``(request-target) host date digest`` because that is what Mastodon, Lemmy and most of the
fediverse accept. Incoming requests may use draft-cavage (``rsa-sha256`` or ``hs2019``) or
RFC 9421 (``Signature-Input`` + ``Signature``); RFC 9421 is verified with the
``http_message_signatures`` library, whose clock checks are replaced by ours so that one window
and one injectable ``now`` govern both schemes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import http_sf  # the Structured Fields parser that http_message_signatures itself is built on
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageVerifier,
    HTTPSignatureAlgorithm,
    HTTPSignatureKeyResolver,
    algorithms,
)
from http_message_signatures import InvalidSignature as _LibraryInvalidSignature

__all__ = [
    "CAVAGE",
    "RFC9421",
    "DigestMismatch",
    "InvalidKey",
    "InvalidSignature",
    "MalformedSignature",
    "MissingRequiredHeader",
    "MissingSignature",
    "ParsedSignature",
    "SignatureError",
    "SignedRequest",
    "StaleRequest",
    "UnsupportedAlgorithm",
    "VerifiedSignature",
    "content_digest_header",
    "digest_header",
    "generate_rsa_keypair",
    "key_owner_matches",
    "load_private_key",
    "load_public_key",
    "parse_signature",
    "sign_request",
    "verify_digest",
    "verify_request",
]

CAVAGE = "draft-cavage-12"
RFC9421 = "rfc9421"

#: What we sign outgoing requests over; Mastodon and Lemmy require at least this.
SIGNED_HEADERS_WITH_BODY = ("(request-target)", "host", "date", "digest")
SIGNED_HEADERS_WITHOUT_BODY = ("(request-target)", "host", "date")


# --------------------------------------------------------------------------------------- errors


class SignatureError(Exception):
    """Base of every failure in this module; ``status_hint`` is the HTTP status a caller may use."""

    status_hint: int = 401


class MissingSignature(SignatureError):
    """The request carries no HTTP signature at all."""


class MalformedSignature(SignatureError):
    """A signature header (or the Date it relies on) cannot be parsed."""

    status_hint = 400


class UnsupportedAlgorithm(SignatureError):
    """The signature or digest uses an algorithm we do not accept."""


class InvalidSignature(SignatureError):
    """The signature does not verify with the given key."""


class StaleRequest(SignatureError):
    """The Date header or ``created``/``expires`` parameter is outside the accepted window."""


class DigestMismatch(SignatureError):
    """A Digest or Content-Digest header does not match the body (or cannot be read)."""

    status_hint = 400


class MissingRequiredHeader(SignatureError):
    """The signature does not cover a header we require, or a covered header is absent."""


class InvalidKey(SignatureError):
    """A PEM key cannot be loaded or is of a type we do not use."""


# ------------------------------------------------------------------------------------------ keys


def generate_rsa_keypair() -> tuple[str, str]:
    """Return a new RSA-2048 key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem.decode("ascii"), public_pem.decode("ascii")


@functools.lru_cache(maxsize=256)
def load_private_key(pem: str | bytes) -> PrivateKeyTypes:
    """Load an unencrypted PEM private key (PKCS#8 or PKCS#1).

    Cached: loading an RSA key validates it (tens of milliseconds), signing takes a fraction of one,
    and a worker signs every delivery with the same few keys."""
    try:
        return serialization.load_pem_private_key(_as_bytes(pem), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidKey(f"cannot load private key: {exc}") from exc


@functools.lru_cache(maxsize=1024)
def load_public_key(pem: str | bytes) -> PublicKeyTypes:
    """Load a PEM public key (SubjectPublicKeyInfo, or PKCS#1 ``RSA PUBLIC KEY``)."""
    try:
        return serialization.load_pem_public_key(_as_bytes(pem))
    except (ValueError, TypeError) as exc:
        raise InvalidKey(f"cannot load public key: {exc}") from exc


def key_owner_matches(key_id: str, actor_id: str) -> bool:
    """Whether ``key_id`` names a key of ``actor_id`` (``<actor>#main-key`` or ``<actor>#anything``).

    Keys published at their own URL (``<actor>/main-key``) do not match; for those the caller
    compares the fetched key document's ``owner`` with the actor.
    """
    if not key_id or not actor_id:
        return False
    return key_id.split("#", 1)[0] == actor_id or key_id == actor_id + "#main-key"


# --------------------------------------------------------------------------------------- digests

_DIGEST_HASHES = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}


def digest_header(body: bytes) -> str:
    """Return the RFC 3230 ``Digest`` value for ``body``: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """Return the RFC 9530 ``Content-Digest`` value for ``body``: ``sha-256=:<base64>:``."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def verify_digest(header_name: str, value: str, body: bytes) -> None:
    """Check a ``Digest`` (RFC 3230) or ``Content-Digest`` (RFC 9530) value against ``body``.

    Every entry with an algorithm we know (SHA-256, SHA-512) must match; at least one must be
    known. Raises :class:`DigestMismatch` or :class:`UnsupportedAlgorithm`.
    """
    name = header_name.lower()
    if name == "digest":
        entries = _parse_legacy_digest(value)
    elif name == "content-digest":
        entries = _parse_content_digest(value)
    else:
        raise ValueError(f"not a digest header: {header_name!r}")
    known = [(algorithm, digest) for algorithm, digest in entries if algorithm in _DIGEST_HASHES]
    if not known:
        found = ", ".join(algorithm for algorithm, _ in entries) or "none"
        raise UnsupportedAlgorithm(f"{header_name} uses no supported algorithm (found: {found})")
    for algorithm, digest in known:
        if not hmac.compare_digest(digest, _DIGEST_HASHES[algorithm](body).digest()):
            raise DigestMismatch(f"{header_name} {algorithm} does not match the request body")


def _parse_legacy_digest(value: str) -> list[tuple[str, bytes]]:
    entries = []
    for part in value.split(","):
        algorithm, sep, encoded = part.strip().partition("=")
        if not sep or not algorithm:
            raise DigestMismatch(f"malformed Digest header: {value!r}")
        entries.append((algorithm.lower(), _b64decode(encoded.strip(), DigestMismatch, "Digest")))
    return entries


def _parse_content_digest(value: str) -> list[tuple[str, bytes]]:
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise DigestMismatch(f"malformed Content-Digest header: {value!r}") from exc
    entries = []
    for algorithm, (member, _params) in parsed.items():
        if not isinstance(member, bytes):
            raise DigestMismatch(f"Content-Digest member {algorithm!r} is not a byte sequence")
        entries.append((algorithm.lower(), member))
    return entries


# -------------------------------------------------------------------------------------- signing


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    key_id: str,
    private_key_pem: str | bytes,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request with draft-cavage-12 ``rsa-sha256`` and return the headers to send.

    The result is ``headers`` plus ``Host``, ``Date``, ``Digest`` (when ``body`` is not None) and
    ``Signature`` over ``(request-target) host date [digest]``. Any caller-supplied header of those
    names is replaced. Other headers (``Content-Type``, ``Accept``…) are passed through unsigned.
    """
    if '"' in key_id or "\\" in key_id:
        raise ValueError("key_id must not contain quotes or backslashes")
    private_key = load_private_key(private_key_pem)
    if not isinstance(private_key, rsa.RSAPrivateKey):
        raise InvalidKey("outgoing requests are signed with rsa-sha256 and need an RSA private key")

    host, target = _host_and_target(url)
    replaced = {"host", "date", "digest", "signature"}
    result = {name: value for name, value in (headers or {}).items() if name.lower() not in replaced}
    result["Host"] = host
    result["Date"] = format_datetime(_utc(now), usegmt=True)
    if body is not None:
        result["Digest"] = digest_header(body)
    signed = SIGNED_HEADERS_WITH_BODY if body is not None else SIGNED_HEADERS_WITHOUT_BODY
    values = {
        "(request-target)": f"{method.lower()} {target}",
        "host": result["Host"],
        "date": result["Date"],
        "digest": result.get("Digest", ""),
    }
    signing_string = "\n".join(f"{name}: {values[name]}" for name in signed)
    signature = private_key.sign(signing_string.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    result["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(signed)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return result


def _host_and_target(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.port is not None and parts.port != {"http": 80, "https": 443}[parts.scheme]:
        host = f"{host}:{parts.port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, target


# ------------------------------------------------------------------------------ inbound requests


@dataclass(frozen=True)
class SignedRequest:
    """An inbound request as this module sees it.

    ``path`` includes the query string exactly as received. ``headers`` may be any mapping or
    sequence of (name, value) pairs; it is stored with lower-case names, repeated fields joined
    with ``", "``. ``scheme`` is only used to rebuild ``@target-uri`` for RFC 9421.
    """

    method: str
    path: str
    headers: Mapping[str, str] | Iterable[tuple[str, str]]
    body: bytes = b""
    scheme: str = "https"

    def __post_init__(self) -> None:
        pairs = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        normalised: dict[str, str] = {}
        for name, value in pairs:
            key, value = name.lower(), value.strip()
            normalised[key] = f"{normalised[key]}, {value}" if key in normalised else value
        object.__setattr__(self, "headers", normalised)
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "body", self.body or b"")

    def header(self, name: str) -> str | None:
        """Return the value of header ``name`` (any case), or None."""
        return self.headers.get(name.lower())  # type: ignore[union-attr]


@dataclass(frozen=True)
class ParsedSignature:
    """What a request's signature claims, before anything is verified.

    ``covered`` lists lower-case header names for draft-cavage (``(request-target)`` included) and
    component names for RFC 9421 (``@method``, ``content-digest``…). ``algorithm`` is as declared
    (None when the sender left it out); ``label`` is the RFC 9421 signature label.
    """

    scheme: str
    key_id: str
    algorithm: str | None
    covered: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None
    label: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that verified: who signed, how, over what, and when."""

    key_id: str
    scheme: str
    algorithm: str
    covered: tuple[str, ...]
    signed_at: datetime


def parse_signature(request: SignedRequest) -> ParsedSignature:
    """Find and parse the request's signature so the caller can fetch the key by ``key_id``.

    RFC 9421 is recognised by a ``Signature-Input`` header; otherwise a draft-cavage
    ``Signature`` header (or ``Authorization: Signature …``) is expected.
    """
    if request.header("signature-input") is not None:
        return _parse_rfc9421(request)[0]
    value = request.header("signature")
    if value is None:
        authorization = request.header("authorization") or ""
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() == "signature":
            value = rest
    if value is None:
        raise MissingSignature("request has no Signature or Signature-Input header")
    return _parse_cavage(value)


_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|(\d+))\s*(?:,|$)')


def _parse_cavage(value: str) -> ParsedSignature:
    params: dict[str, str] = {}
    position = 0
    while position < len(value.rstrip()):
        match = _CAVAGE_PARAM.match(value, position)
        if match is None or match.end() == position:
            raise MalformedSignature(
                f"cannot parse Signature header near {value[position : position + 30]!r}"
            )
        name = match.group(1)
        if name in params:
            raise MalformedSignature(f"Signature header repeats parameter {name!r}")
        params[name] = match.group(2) if match.group(2) is not None else match.group(3)
        position = match.end()
    for required in ("keyId", "signature"):
        if not params.get(required):
            raise MalformedSignature(f"Signature header lacks {required}")
    # draft-cavage-12 §2.1.6: an absent headers parameter means "date" alone.
    covered = tuple(params.get("headers", "date").lower().split())
    if not covered or len(set(covered)) != len(covered):
        raise MalformedSignature("Signature headers parameter is empty or repeats a header")
    return ParsedSignature(
        scheme=CAVAGE,
        key_id=params["keyId"],
        algorithm=params["algorithm"].lower() if params.get("algorithm") else None,
        covered=covered,
        signature=_b64decode(params["signature"], MalformedSignature, "signature"),
        created=_optional_int(params.get("created"), "created"),
        expires=_optional_int(params.get("expires"), "expires"),
        parameters=params,
    )


def _parse_rfc9421(request: SignedRequest) -> tuple[ParsedSignature, str, str]:
    """Parse the first signature of ``Signature-Input``; also return both headers reduced to it."""
    signature_field = request.header("signature")
    if signature_field is None:
        raise MalformedSignature("Signature-Input header without a Signature header")
    inputs = _parse_sf_dictionary(request.header("signature-input") or "", "Signature-Input")
    signatures = _parse_sf_dictionary(signature_field, "Signature")
    # Several signatures may be present (a proxy may add its own); the first one with a matching
    # Signature member is the sender's. Callers needing another label can strip the headers.
    label = next((name for name in inputs if name in signatures), None)
    if label is None:
        raise MalformedSignature("Signature-Input and Signature share no label")
    components, params = inputs[label]
    signature, _ = signatures[label]
    if not isinstance(components, list) or not isinstance(signature, bytes):
        raise MalformedSignature(f"signature {label!r} is not an inner list with a byte sequence")
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise MalformedSignature(f"signature {label!r} has no keyid parameter")
    for name in ("created", "expires"):
        if name in params and type(params[name]) is not int:
            raise MalformedSignature(f"signature {label!r} parameter {name!r} is not an integer")
    alg = params.get("alg")
    if alg is not None and not isinstance(alg, str):
        raise MalformedSignature(f"signature {label!r} parameter 'alg' is not a string")
    covered = tuple(str(component).lower() for component, _ in components)
    parsed = ParsedSignature(
        scheme=RFC9421,
        key_id=key_id,
        algorithm=alg,
        covered=covered,
        signature=signature,
        created=params.get("created"),
        expires=params.get("expires"),
        label=label,
        parameters=dict(params),
    )
    reduced_input = http_sf.ser({label: inputs[label]})
    reduced_signature = http_sf.ser({label: signatures[label]})
    return parsed, reduced_input, reduced_signature


def _parse_sf_dictionary(value: str, header_name: str) -> dict[str, Any]:
    try:
        parsed = http_sf.parse(value.encode("ascii"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise MalformedSignature(f"malformed {header_name} header") from exc
    if not isinstance(parsed, dict) or not parsed:
        raise MalformedSignature(f"{header_name} header is empty")
    return parsed


# ----------------------------------------------------------------------------------- verifying

_CAVAGE_ALGORITHMS = {"rsa-sha256", "hs2019"}
_RFC9421_ALGORITHMS: dict[str, type[HTTPSignatureAlgorithm]] = {
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "ed25519": algorithms.ED25519,
}


def verify_request(
    request: SignedRequest,
    public_key_pem: str | bytes,
    *,
    now: datetime | None = None,
    max_skew_seconds: int = 3600,
    require_digest_for_body: bool = True,
) -> VerifiedSignature:
    """Verify ``request``'s signature with ``public_key_pem`` or raise a :class:`SignatureError`.

    Checks, in order: a signature is present and parses; its algorithm is supported; it covers
    the request target, the host, the date (or RFC 9421 ``created``) and, for a non-empty body,
    ``digest`` or ``content-digest``; the date is within ``max_skew_seconds`` of ``now``; every
    digest header matches the body; the signature verifies. Covering more headers than required is
    fine. Whether the key belongs to the activity's actor is the caller's check
    (:func:`key_owner_matches` and the key document's ``owner``).
    """
    current = _utc(now)
    skew = timedelta(seconds=max_skew_seconds)
    if request.header("signature-input") is not None:
        parsed, reduced_input, reduced_signature = _parse_rfc9421(request)
    else:
        parsed, reduced_input, reduced_signature = parse_signature(request), "", ""
    _check_algorithm_supported(parsed)
    public_key = load_public_key(public_key_pem)
    _check_coverage(parsed, request, require_digest_for_body)
    signed_at = _check_time_window(parsed, request, current, skew)
    _check_body_digests(request)

    if parsed.scheme == CAVAGE:
        algorithm = _verify_cavage(parsed, request, public_key)
    else:
        algorithm = _verify_rfc9421(parsed, request, public_key, reduced_input, reduced_signature)
    return VerifiedSignature(
        key_id=parsed.key_id,
        scheme=parsed.scheme,
        algorithm=algorithm,
        covered=parsed.covered,
        signed_at=signed_at,
    )


def _check_algorithm_supported(parsed: ParsedSignature) -> None:
    if parsed.algorithm is None:
        return  # derived from the key type, as both specifications allow
    supported = _CAVAGE_ALGORITHMS if parsed.scheme == CAVAGE else _RFC9421_ALGORITHMS
    if parsed.algorithm not in supported:
        raise UnsupportedAlgorithm(
            f"{parsed.scheme} algorithm {parsed.algorithm!r} is not accepted "
            f"(accepted: {', '.join(sorted(supported))})"
        )


def _check_coverage(parsed: ParsedSignature, request: SignedRequest, require_digest_for_body: bool) -> None:
    covered = set(parsed.covered)
    if parsed.scheme == CAVAGE:
        requirements = [
            ("(request-target)",),
            ("host",),
            ("date",),
        ]
    else:
        requirements = [
            ("@method",),
            ("@path", "@target-uri", "@request-target"),
            ("@authority", "host", "@target-uri"),
        ]
        if parsed.created is None:
            requirements.append(("date",))
    if require_digest_for_body and request.body:
        requirements.append(("digest", "content-digest"))
    for alternatives in requirements:
        if not covered.intersection(alternatives):
            raise MissingRequiredHeader(
                f"signature must cover {' or '.join(repr(name) for name in alternatives)}"
            )
    for name in parsed.covered:
        if name.startswith(("(", "@")):
            continue
        if request.header(name) is None:
            raise MissingRequiredHeader(f"signed header {name!r} is absent from the request")
    if ("@authority" in covered or "@target-uri" in covered) and request.header("host") is None:
        raise MissingRequiredHeader("signature covers the authority but the request has no Host header")
    if "(created)" in covered and parsed.created is None:
        raise MalformedSignature("signature covers (created) but has no created parameter")
    if "(expires)" in covered and parsed.expires is None:
        raise MalformedSignature("signature covers (expires) but has no expires parameter")


def _check_time_window(
    parsed: ParsedSignature, request: SignedRequest, now: datetime, skew: timedelta
) -> datetime:
    # Checked first: an explicit expiry is a sharper reason than a date drifting out of the window.
    if parsed.expires is not None and _from_timestamp(parsed.expires, "expires") < now - skew:
        raise StaleRequest("signature has expired")
    signed_at: datetime | None = None
    if "date" in parsed.covered:
        date_value = request.header("date") or ""
        try:
            signed_at = parsedate_to_datetime(date_value)
        except (TypeError, ValueError) as exc:
            raise MalformedSignature(f"Date header is not an HTTP date: {date_value!r}") from exc
        signed_at = _utc(signed_at)
        _within_window(signed_at, now, skew, "Date header")
    if parsed.created is not None:
        created = _from_timestamp(parsed.created, "created")
        _within_window(created, now, skew, "signature created time")
        signed_at = signed_at or created
    if signed_at is None:  # unreachable when coverage was checked, but never trust a default
        raise MissingRequiredHeader("signature carries neither a signed Date nor a created time")
    return signed_at


def _within_window(moment: datetime, now: datetime, skew: timedelta, what: str) -> None:
    if moment < now - skew:
        raise StaleRequest(f"{what} {moment.isoformat()} is more than {skew} in the past")
    if moment > now + skew:
        raise StaleRequest(f"{what} {moment.isoformat()} is more than {skew} in the future")


def _check_body_digests(request: SignedRequest) -> None:
    # Any digest the request carries must match, signed or not: a mismatch means corruption
    # or tampering either way, and checking both spares us deciding which one "counts".
    for name in ("digest", "content-digest"):
        value = request.header(name)
        if value is not None:
            verify_digest(name, value, request.body)


def _verify_cavage(parsed: ParsedSignature, request: SignedRequest, public_key: PublicKeyTypes) -> str:
    signing_string = "\n".join(_cavage_line(name, parsed, request) for name in parsed.covered)
    message = signing_string.encode("utf-8")
    algorithm = parsed.algorithm or "hs2019"
    if isinstance(public_key, rsa.RSAPublicKey):
        if _rsa_verifies(public_key, parsed.signature, message, padding.PKCS1v15(), hashes.SHA256()):
            return "rsa-sha256"
        if algorithm == "hs2019":
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=padding.PSS.AUTO)
            if _rsa_verifies(public_key, parsed.signature, message, pss, hashes.SHA512()):
                return "hs2019-rsa-pss-sha512"
        raise InvalidSignature(f"{algorithm} signature does not verify with key {parsed.key_id}")
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        if algorithm != "hs2019":
            raise InvalidSignature(f"{algorithm} signature cannot be made with an Ed25519 key")
        try:
            public_key.verify(parsed.signature, message)
        except _CryptoInvalidSignature as exc:
            raise InvalidSignature(f"hs2019 signature does not verify with key {parsed.key_id}") from exc
        return "hs2019-ed25519"
    raise UnsupportedAlgorithm(f"key type {type(public_key).__name__} is not accepted")


def _cavage_line(name: str, parsed: ParsedSignature, request: SignedRequest) -> str:
    if name == "(request-target)":
        return f"(request-target): {request.method.lower()} {request.path}"
    if name == "(created)":
        return f"(created): {parsed.created}"
    if name == "(expires)":
        return f"(expires): {parsed.expires}"
    if name.startswith("("):
        raise MalformedSignature(f"unknown pseudo-header {name!r} in signature")
    return f"{name}: {request.header(name)}"


def _rsa_verifies(
    key: rsa.RSAPublicKey,
    signature: bytes,
    message: bytes,
    scheme: padding.AsymmetricPadding,
    digest: hashes.HashAlgorithm,
) -> bool:
    try:
        key.verify(signature, message, scheme, digest)
    except _CryptoInvalidSignature:
        return False
    return True


@dataclass
class _LibraryRequest:
    """The request shape http_message_signatures reads: method, absolute url, headers."""

    method: str
    url: str
    headers: dict[str, str]


class _SingleKeyResolver(HTTPSignatureKeyResolver):
    def __init__(self, key_id: str, key: PublicKeyTypes) -> None:
        self.key_id, self.key = key_id, key

    def resolve_public_key(self, key_id: str) -> PublicKeyTypes | None:
        return self.key if key_id == self.key_id else None

    def resolve_private_key(self, key_id: str) -> None:
        raise NotImplementedError("verification only")


class _VerifierWithOurClock(HTTPMessageVerifier):
    # The library checks created/expires against its own clock with a 5 s skew; ours already
    # checked them against the caller's ``now`` and window, so one policy governs both schemes.
    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        return None


def _verify_rfc9421(
    parsed: ParsedSignature,
    request: SignedRequest,
    public_key: PublicKeyTypes,
    reduced_input: str,
    reduced_signature: str,
) -> str:
    if parsed.algorithm is not None:
        candidates = [parsed.algorithm]
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        candidates = ["ed25519"]
    elif isinstance(public_key, rsa.RSAPublicKey):
        candidates = ["rsa-v1_5-sha256", "rsa-pss-sha512"]
    else:
        raise UnsupportedAlgorithm(f"key type {type(public_key).__name__} is not accepted")

    headers = dict(request.headers)  # type: ignore[arg-type]
    headers["signature-input"] = reduced_input
    headers["signature"] = reduced_signature
    message = _LibraryRequest(
        method=request.method,
        url=f"{request.scheme}://{request.header('host') or 'invalid.'}{request.path}",
        headers=headers,
    )
    last_error: Exception | None = None
    for algorithm_id in candidates:
        verifier = _VerifierWithOurClock(
            signature_algorithm=_RFC9421_ALGORITHMS[algorithm_id],
            key_resolver=_SingleKeyResolver(parsed.key_id, public_key),
        )
        try:
            verifier.verify(message, max_age=None)
        except _LibraryInvalidSignature as exc:
            last_error = exc
            continue
        except HTTPMessageSignaturesException as exc:
            raise MalformedSignature(f"RFC 9421 signature cannot be checked: {exc}") from exc
        return algorithm_id
    raise InvalidSignature(f"RFC 9421 signature does not verify with key {parsed.key_id}: {last_error}")


# -------------------------------------------------------------------------------------- helpers


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("ascii") if isinstance(value, str) else value


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    # A naive datetime is taken to be UTC: HTTP dates and signature timestamps always are.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _from_timestamp(value: int, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise MalformedSignature(f"signature {what} time {value} is out of range") from exc


def _optional_int(value: str | None, what: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise MalformedSignature(f"signature {what} parameter must be an integer")
    return int(value)


def _b64decode(value: str, error: type[SignatureError], what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise error(f"{what} is not valid base64") from exc
