"""Our actors, WebFinger, NodeInfo and content negotiation; keys stored safely."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from coopol.extensions import db
from coopol.federation.models import MemberKey

AP = {"Accept": "application/activity+json"}
LD = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}


def test_group_actor_document(app, client):
    response = client.get("/g/ideas", headers=AP)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/activity+json")
    doc = response.json
    base = "http://local.coopol.test"
    assert doc["@context"][:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert (doc["id"], doc["type"], doc["preferredUsername"]) == (f"{base}/g/ideas", "Group", "ideas")
    assert doc["inbox"] == f"{base}/g/ideas/inbox" and doc["outbox"] == f"{base}/g/ideas/outbox"
    assert doc["followers"] == f"{base}/g/ideas/followers"
    assert doc["endpoints"]["sharedInbox"] == f"{base}/inbox"
    key = doc["publicKey"]
    assert key["id"] == f"{base}/g/ideas#main-key" and key["owner"] == doc["id"]
    assert key["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")


def test_ld_json_with_the_activitystreams_profile_is_served_too(client):
    response = client.get("/g/ideas", headers=LD)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/ld+json")
    assert 'profile="https://www.w3.org/ns/activitystreams"' in response.headers["Content-Type"]
    assert response.json["type"] == "Group"


def test_browsers_are_sent_to_the_pages(client, create_member):
    create_member("alice")
    assert client.get("/g/ideas", headers={"Accept": "text/html"}).status_code == 302
    response = client.get("/u/alice", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/members/alice")


def test_instance_actor_is_an_application_with_its_own_key(client):
    doc = client.get("/actor", headers=AP).json
    group = client.get("/g/ideas", headers=AP).json
    assert doc["type"] == "Application" and doc["publicKey"]["owner"] == doc["id"]
    assert doc["publicKey"]["publicKeyPem"] != group["publicKey"]["publicKeyPem"]


def test_member_actor_and_its_key_created_on_first_need(app, client, create_member):
    member_id = create_member("alice", display_name="Alice A.")
    with app.app_context():
        assert db.session.scalar(select(MemberKey).where(MemberKey.member_id == member_id)) is None
    doc = client.get("/u/alice", headers=AP).json
    assert (doc["type"], doc["preferredUsername"], doc["name"]) == ("Person", "alice", "Alice A.")
    assert "email" not in str(doc) and "alice@example.org" not in str(doc)
    assert doc["publicKey"]["id"] == f"{doc['id']}#main-key"
    again = client.get("/u/alice", headers=AP).json
    assert again["publicKey"]["publicKeyPem"] == doc["publicKey"]["publicKeyPem"]  # stored, not regenerated
    with app.app_context():
        stored = db.session.scalar(select(MemberKey).where(MemberKey.member_id == member_id))
        assert b"PRIVATE KEY" not in stored.private_key_encrypted  # encrypted at rest


def test_member_private_key_decrypts_only_with_the_instance_secret(app, create_member):
    from coopol.federation.actors import member_actor_id, signer_for
    from coopol.federation.keys import decrypt_private_key

    create_member("alice")
    with app.app_context():
        key_id, private_pem = signer_for(member_actor_id("alice"))
        stored = db.session.scalar(select(MemberKey))
        assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
        with pytest.raises(ValueError, match="instance secret"):
            decrypt_private_key(stored.private_key_encrypted, "another secret", stored.member_id)
        with pytest.raises(ValueError):
            decrypt_private_key(stored.private_key_encrypted, app.config["SECRET_KEY"], stored.member_id + 1)


def test_unknown_erased_and_remote_members_are_404(app, client, create_member):
    assert client.get("/u/nobody", headers=AP).status_code == 404
    from coopol.accounts.models import Member
    from coopol.accounts.services import erase_member, get_member_by_handle
    from coopol.core.uow import unit_of_work

    create_member("gone")
    with app.app_context(), unit_of_work():
        db.session.add(Member(handle="bob@ally.example", host="ally.example", ap_id="https://ally.example/u/bob",
                              session_token="x"))
        erase_member(get_member_by_handle("gone"))
    assert client.get("/u/gone", headers=AP).status_code == 404
    assert client.get("/u/bob@ally.example", headers=AP).status_code == 404


def test_instance_and_group_keys_are_owner_only_files(app, client):
    client.get("/g/ideas", headers=AP)
    client.get("/actor", headers=AP)
    key_dir = Path(app.instance_path) / "keys"
    for name in ("group.pem", "instance.pem"):
        mode = stat.S_IMODE(os.stat(key_dir / name).st_mode)
        assert mode == 0o600, (name, oct(mode))
    assert stat.S_IMODE(os.stat(key_dir).st_mode) == 0o700


def test_signed_and_unsigned_gets_both_answer(instance):
    import requests

    from tests.federation.conftest import group_signer

    a, b = instance("a"), instance("b")
    from coopol.federation.signatures import sign_request

    key_id, pem = group_signer(b)
    url = f"{a.url}/g/ideas"
    signed = requests.get(url, headers=sign_request("GET", url, AP, None, key_id, pem), timeout=10)
    unsigned = requests.get(url, headers=AP, timeout=10)
    assert signed.status_code == unsigned.status_code == 200
    assert signed.json() == unsigned.json()


def test_webfinger_for_the_group_and_members(client, create_member):
    create_member("alice")
    group = client.get("/.well-known/webfinger?resource=acct:ideas@local.coopol.test")
    assert group.status_code == 200 and group.headers["Content-Type"].startswith("application/jrd+json")
    assert group.json["subject"] == "acct:ideas@local.coopol.test"
    self_link = next(link for link in group.json["links"] if link["rel"] == "self")
    assert self_link == {"rel": "self", "type": "application/activity+json",
                         "href": "http://local.coopol.test/g/ideas"}
    alice = client.get("/.well-known/webfinger", query_string={"resource": "acct:Alice@LOCAL.coopol.test"})
    assert alice.status_code == 200 and alice.json["subject"] == "acct:alice@local.coopol.test"
    by_url = client.get("/.well-known/webfinger", query_string={"resource": "http://local.coopol.test/u/alice"})
    assert by_url.json["subject"] == "acct:alice@local.coopol.test"


@pytest.mark.parametrize("resource, status", [
    ("", 422), ("acct:nobody@local.coopol.test", 404), ("acct:alice@other.example", 404),
    ("https://other.example/u/alice", 404), ("acct:@local.coopol.test", 404),
])
def test_webfinger_errors(client, create_member, resource, status):
    create_member("alice")
    response = client.get("/.well-known/webfinger", query_string={"resource": resource})
    assert response.status_code == status and response.json["code"] == status


def test_nodeinfo(client, create_member):
    create_member("alice")
    create_member("bob")
    links = client.get("/.well-known/nodeinfo").json["links"]
    assert links == [{"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                      "href": "http://local.coopol.test/nodeinfo/2.1"}]
    info = client.get("/nodeinfo/2.1").json
    assert info["version"] == "2.1" and info["software"]["name"] == "coopol"
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["users"]["total"] == 2
    assert info["openRegistrations"] is True


def test_a_member_lists_an_ed25519_multikey_for_vote_proofs(app, client, create_member):
    from coopol.federation.actors import member_actor_id, member_proof_signer
    from coopol.federation.keys import decrypt_private_key
    from coopol.federation.models import MemberProofKey
    from coopol.federation.proofs import load_ed25519_private, public_multibase
    from coopol.federation.protocol import parse_actor

    member_id = create_member("alice")
    doc = client.get("/u/alice", headers=AP).json
    assert "https://w3id.org/security/multikey/v1" in doc["@context"]
    [method] = doc["assertionMethod"]
    assert method == {"id": f"{doc['id']}#ed25519-key", "type": "Multikey", "controller": doc["id"],
                      "publicKeyMultibase": method["publicKeyMultibase"]}
    assert method["publicKeyMultibase"].startswith("z6Mk")
    assert client.get("/u/alice", headers=AP).json["assertionMethod"] == [method]  # stored, not regenerated
    assert dict(parse_actor(doc).proof_keys) == {method["id"]: method["publicKeyMultibase"]}
    with app.app_context():
        from coopol.accounts.models import Member

        key_id, pem = member_proof_signer(db.session.get(Member, member_id))
        assert key_id == f"{member_actor_id('alice')}#ed25519-key"
        assert public_multibase(load_ed25519_private(pem).public_key()) == method["publicKeyMultibase"]
        stored = db.session.scalar(select(MemberProofKey).where(MemberProofKey.member_id == member_id))
        assert b"PRIVATE KEY" not in stored.private_key_encrypted
        with pytest.raises(ValueError):  # bound to the Ed25519 slot: not decryptable as the RSA key's blob
            decrypt_private_key(stored.private_key_encrypted, app.config["SECRET_KEY"], member_id)
