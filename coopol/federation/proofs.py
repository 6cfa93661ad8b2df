"""Object integrity proofs (FEP-8b32): `DataIntegrityProof` with the `eddsa-jcs-2022` cryptosuite, and
Ed25519 `Multikey`s (FEP-521a) to check them.

Pure, like signatures.py: documents, keys and times in, a signed document out or `InvalidProof` raised;
no Flask, database or network. An HTTP signature says which server delivered a request, once; a proof
says which person wrote a document, for as long as the document is kept, whoever relays it. Coopol
signs its members' votes this way so that every ally can keep them and `coopol audit` can check them
again later (W3C vc-di-eddsa, section "eddsa-jcs-2022": JCS canonical JSON by RFC 8785, SHA-256 of the
proof options then of the document, an Ed25519 signature over both, multibase base58btc).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"
PROOF_PURPOSE = "assertionMethod"
DATA_INTEGRITY_CONTEXT = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
ED25519_PUBLIC_PREFIX = b"\xed\x01"  # multicodec ed25519-pub, as varint
ED25519_PRIVATE_PREFIX = b"\x80\x26"  # multicodec ed25519-priv, as varint
_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: index for index, char in enumerate(_ALPHABET)}


class InvalidProof(ValueError):
    """A proof that is missing, malformed, made by another key, or does not match the document."""


# ------------------------------------------------------------------------------ base58btc, multibase


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _ALPHABET[rest] + out
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise InvalidProof(f"not base58btc: {char!r}")
        number = number * 58 + _INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def multibase_decode(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("z") or len(value) > 200:
        raise InvalidProof("a multibase value must be base58btc ('z...')")
    return b58decode(value[1:])


# ------------------------------------------------------------------------------------------ keys


def generate_ed25519_keypair() -> tuple[str, str]:
    """(private key PEM, public key Multibase)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    return pem, public_multibase(private.public_key())


def load_ed25519_private(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def private_from_multibase(value: str) -> Ed25519PrivateKey:
    """A `secretKeyMultibase`/`privateKeyMultibase` (multicodec ed25519-priv + 32-byte seed)."""
    raw = multibase_decode(value)
    if not raw.startswith(ED25519_PRIVATE_PREFIX) or len(raw) != 34:
        raise InvalidProof("not an Ed25519 private Multikey")
    return Ed25519PrivateKey.from_private_bytes(raw[2:])


def public_multibase(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + b58encode(ED25519_PUBLIC_PREFIX + raw)


def public_from_multibase(value: Any) -> Ed25519PublicKey:
    raw = multibase_decode(value)
    if not raw.startswith(ED25519_PUBLIC_PREFIX) or len(raw) != 34:
        raise InvalidProof("not an Ed25519 Multikey (z6Mk...)")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def multikey(key_id: str, controller: str, public_key_multibase: str) -> dict[str, str]:
    """The `Multikey` verification method an actor lists in `assertionMethod` (FEP-521a)."""
    return {"id": key_id, "type": "Multikey", "controller": controller, "publicKeyMultibase": public_key_multibase}


def multikeys_of(actor: dict[str, Any]) -> dict[str, str]:
    """{key id: publicKeyMultibase} of the Ed25519 Multikeys an actor document lists in `assertionMethod`
    and controls itself (another controller's key says nothing about this actor)."""
    methods = actor.get("assertionMethod")
    found: dict[str, str] = {}
    for method in methods if isinstance(methods, list) else [methods]:
        if not isinstance(method, dict) or method.get("type") != "Multikey":
            continue
        key_id, controller, value = method.get("id"), method.get("controller"), method.get("publicKeyMultibase")
        if isinstance(key_id, str) and controller == actor.get("id") and isinstance(value, str) \
                and value.startswith("z6Mk"):
            found[key_id] = value
    return found


# ---------------------------------------------------------------------------------------- proofs


def _canonical(value: Any) -> bytes:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as error:
        raise InvalidProof(f"cannot be canonicalised: {error}") from error


def _hash_data(document: dict[str, Any], options: dict[str, Any]) -> bytes:
    return hashlib.sha256(_canonical(options)).digest() + hashlib.sha256(_canonical(document)).digest()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_document(document: dict[str, Any], private_key: Ed25519PrivateKey, verification_method: str,
                  created: datetime) -> dict[str, Any]:
    """`document` with an `eddsa-jcs-2022` proof by `private_key` (a copy; a proof already there is replaced)."""
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options: dict[str, Any] = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": _iso(created),
                               "verificationMethod": verification_method, "proofPurpose": PROOF_PURPOSE}
    if "@context" in unsecured:
        options["@context"] = unsecured["@context"]
    signature = private_key.sign(_hash_data(unsecured, options))
    return {**unsecured, "proof": {**options, "proofValue": "z" + b58encode(signature)}}


def proof_of(document: Any) -> dict[str, Any] | None:
    """The document's proof, if it carries one (None: it never claimed one; Mastodon's and Lemmy's votes)."""
    if not isinstance(document, dict) or "proof" not in document:
        return None
    proof = document["proof"]
    if not isinstance(proof, dict):
        raise InvalidProof("only one proof, as an object, is read")
    return proof


def verification_method_of(document: Any) -> str:
    proof = proof_of(document)
    method = proof.get("verificationMethod") if proof else None
    if not isinstance(method, str) or not method:
        raise InvalidProof("the proof names no verificationMethod")
    return method


def verify_document(document: dict[str, Any], public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Check the document's `eddsa-jcs-2022` proof with `public_key`; returns the proof or raises."""
    proof = proof_of(document)
    if proof is None:
        raise InvalidProof("the document carries no proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise InvalidProof(f"not an {CRYPTOSUITE} {PROOF_TYPE}")
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        raise InvalidProof(f"the proof's purpose is not {PROOF_PURPOSE}")
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in options and options["@context"] != unsecured.get("@context"):
        raise InvalidProof("the proof's @context is not the document's")
    signature = multibase_decode(proof.get("proofValue"))
    try:
        public_key.verify(signature, _hash_data(unsecured, options))
    except InvalidSignature as error:
        raise InvalidProof("the proof does not match the document (changed, or signed by another key)") from error
    return proof
