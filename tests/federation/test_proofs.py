"""FEP-8b32 proofs (eddsa-jcs-2022) and Ed25519 Multikeys: the W3C spec's own test vector, then tampering."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coopol.federation.proofs import (
    InvalidProof,
    generate_ed25519_keypair,
    load_ed25519_private,
    multikeys_of,
    private_from_multibase,
    public_from_multibase,
    public_multibase,
    sign_document,
    verify_document,
)

# W3C vc-di-eddsa, TestVectors/keyPair.json and TestVectors/eddsa-jcs-2022/signedJCS.json
VECTOR_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
VECTOR_PRIVATE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
SIGNED = json.loads((Path(__file__).parent / "fixtures" / "vc-di-eddsa" / "signedJCS.json").read_text())


def test_the_spec_test_vector_verifies():
    proof = verify_document(SIGNED, public_from_multibase(VECTOR_PUBLIC))
    assert proof["cryptosuite"] == "eddsa-jcs-2022"


def test_signing_the_spec_document_gives_the_spec_proof_value():
    private = private_from_multibase(VECTOR_PRIVATE)
    assert public_multibase(private.public_key()) == VECTOR_PUBLIC
    proof = SIGNED["proof"]
    signed = sign_document(SIGNED, private, proof["verificationMethod"], datetime(2023, 2, 24, 23, 36, 38, tzinfo=UTC))
    assert signed["proof"]["proofValue"] == proof["proofValue"]
    assert signed["proof"]["@context"] == SIGNED["@context"]


@pytest.mark.parametrize("change", [
    lambda d: d["credentialSubject"].update(alumniOf="Another School"),
    lambda d: d["proof"].update(created="2024-02-24T23:36:38Z"),
    lambda d: d.update({"@context": ["https://www.w3.org/ns/credentials/v2"]}),
    lambda d: d["proof"].update(proofPurpose="authentication"),
    lambda d: d["proof"].update(proofValue="z" + "1" * 10),
    lambda d: d.pop("proof"),
])
def test_a_changed_document_or_proof_fails(change):
    document = copy.deepcopy(SIGNED)
    change(document)
    with pytest.raises(InvalidProof):
        verify_document(document, public_from_multibase(VECTOR_PUBLIC))


def test_a_vote_signed_by_one_key_fails_with_another():
    pem, public = generate_ed25519_keypair()
    other_pem, other_public = generate_ed25519_keypair()
    assert public.startswith("z6Mk") and len(public) == 48
    like = {"@context": "https://www.w3.org/ns/activitystreams", "id": "https://a.example/activities/1",
            "type": "Like", "actor": "https://a.example/u/ana", "object": "https://b.example/ideas/1"}
    signed = sign_document(like, load_ed25519_private(pem), "https://a.example/u/ana#ed25519-key", datetime.now(UTC))
    verify_document(signed, public_from_multibase(public))
    with pytest.raises(InvalidProof):
        verify_document(signed, public_from_multibase(other_public))
    with pytest.raises(InvalidProof):
        verify_document({**signed, "type": "Dislike"}, public_from_multibase(public))


def test_multikeys_are_read_from_assertion_method_of_their_controller_only():
    actor = {"id": "https://a.example/u/ana", "assertionMethod": [
        {"id": "https://a.example/u/ana#ed25519-key", "type": "Multikey", "controller": "https://a.example/u/ana",
         "publicKeyMultibase": VECTOR_PUBLIC},
        {"id": "https://evil.example/k", "type": "Multikey", "controller": "https://evil.example/",
         "publicKeyMultibase": VECTOR_PUBLIC}]}
    assert multikeys_of(actor) == {"https://a.example/u/ana#ed25519-key": VECTOR_PUBLIC}
