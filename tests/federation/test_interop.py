"""Interoperability: what we send verifies with independent libraries, what they sign is accepted by our
inbox, and real actor payloads of Mastodon and Lemmy parse."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpsig
import pytest
import requests
import requests_http_signature
from http_message_signatures import algorithms

from coopol.federation.delivery import run_worker
from coopol.federation.models import InboxItem
from coopol.federation.protocol import activity_summary, is_handshake, parse_actor
from tests.federation.conftest import group_signer

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def public_pem_of(live, path: str) -> str:
    return requests.get(f"{live.url}{path}", headers={"Accept": "application/activity+json"},
                        timeout=10).json()["publicKey"]["publicKeyPem"]


def test_our_delivery_post_verifies_with_httpsig(instance, peer):
    from coopol.core.uow import unit_of_work
    from coopol.federation.actors import group_id
    from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity

    a, remote = instance("a"), peer()
    remote.ally_of(a)
    remote.answer("/inbox", 202)

    def send():
        with unit_of_work():
            enqueue_activity(build_activity("Create", group_id(), {"id": f"{a.url}/n/1", "type": "Note"}),
                             ally_inboxes())
        run_worker(once=True, concurrency=1)

    a.query(send)
    sent = remote.received[-1]
    headers = {k: v for k, v in sent["headers"].items()}
    verifier = httpsig.HeaderVerifier(headers, public_pem_of(a, "/g/ideas"), method="POST", path="/inbox",
                                      required_headers=["(request-target)", "host", "date", "digest"],
                                      sign_header="signature")
    assert verifier.verify() is True
    import base64
    import hashlib

    assert sent["headers"]["Digest"] == "SHA-256=" + base64.b64encode(hashlib.sha256(sent["body"]).digest()).decode()
    assert json.loads(sent["body"])["@context"] == "https://www.w3.org/ns/activitystreams"


def test_our_signed_get_verifies_with_httpsig(instance, peer):
    from coopol.federation.fetch import fetch_document

    a, remote = instance("a"), peer()
    remote.ally_of(a)
    remote.answer("/doc", 200, {"id": f"{remote.url}/doc", "type": "Note"},
                  headers={"Content-Type": "application/activity+json"})
    a.query(lambda: fetch_document(f"{remote.url}/doc"))
    sent = remote.received[-1]
    verifier = httpsig.HeaderVerifier(dict(sent["headers"]), public_pem_of(a, "/actor"), method="GET", path="/doc",
                                      required_headers=["(request-target)", "host", "date"], sign_header="signature")
    assert verifier.verify() is True
    assert f'keyId="{a.url}/actor#main-key"' in sent["headers"]["Signature"]


def _activity(sender) -> tuple[dict, bytes]:
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{sender.url}/activities/{uuid.uuid4()}",
                "type": "Create", "actor": f"{sender.url}/g/ideas",
                "object": {"id": f"{sender.url}/notes/{uuid.uuid4()}", "type": "Note", "content": "hi"}}
    return activity, json.dumps(activity).encode()


def test_inbox_accepts_a_post_signed_by_httpsig(instance, ally):
    import base64
    import hashlib
    from email.utils import formatdate

    a, b = instance("a"), instance("b")
    ally(a, b)
    key_id, pem = group_signer(a)
    activity, body = _activity(a)
    signer = httpsig.HeaderSigner(key_id, pem, algorithm="rsa-sha256", sign_header="signature",
                                  headers=["(request-target)", "host", "date", "digest", "content-type"])
    headers = signer.sign({"Host": b.host, "Date": formatdate(usegmt=True),
                           "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
                           "Content-Type": "application/activity+json"}, method="POST", path="/inbox")
    response = requests.post(f"{b.url}/inbox", data=body, headers=headers, timeout=10)
    assert response.status_code == 202, response.text
    assert b.count(InboxItem) >= 1


def test_inbox_accepts_an_rfc9421_post_signed_by_requests_http_signature(instance, ally):
    a, b = instance("a"), instance("b")
    ally(a, b)
    key_id, pem = group_signer(a)
    activity, body = _activity(a)
    auth = requests_http_signature.HTTPSignatureAuth(
        signature_algorithm=algorithms.RSA_V1_5_SHA256, key=pem.encode(), key_id=key_id,
        covered_component_ids=("@method", "@authority", "@target-uri", "content-digest"))
    response = requests.post(f"{b.url}/inbox", data=body, auth=auth, timeout=10,
                             headers={"Content-Type": "application/activity+json"})
    assert response.status_code == 202, response.text
    assert response.json()["id"] == activity["id"]


@pytest.mark.parametrize("name, kind, shared", [
    ("mastodon_person.json", "Person", "https://mastodon.social/inbox"),
    ("lemmy_group.json", "Group", "https://lemmy.ml/inbox"),
    ("lemmy_person.json", "Person", "https://lemmy.ml/inbox"),
])
def test_real_actor_payloads_parse(name, kind, shared):
    doc = load(name)
    actor = parse_actor(doc)
    assert actor.type == kind and actor.id == doc["id"]
    assert actor.key_id == doc["id"] + "#main-key" and actor.key_owner == doc["id"]
    assert actor.shared_inbox == shared and actor.inbox == doc["inbox"]
    assert actor.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_mastodon_style_accept_and_undo_are_recognised_as_handshake():
    accept = {"@context": "https://www.w3.org/ns/activitystreams",
              "id": "https://mastodon.social/users/Gargron#accepts/follows/123", "type": "Accept",
              "actor": "https://mastodon.social/users/Gargron",
              "object": {"id": "https://a.example/activities/1", "type": "Follow",
                         "actor": "https://a.example/g/ideas", "object": "https://mastodon.social/users/Gargron"}}
    assert activity_summary(accept) == (accept["id"], "Accept", "https://mastodon.social/users/Gargron")
    assert is_handshake(accept)
    undo = {"id": "https://x.example/u#undo", "type": "Undo", "actor": "https://x.example/u",
            "object": {"id": "https://x.example/f", "type": "Follow"}}
    assert is_handshake(undo) and not is_handshake({**undo, "object": {"type": "Like"}})
