"""Each local group is an ActivityPub `Group` actor: document, key, collections, WebFinger names."""

from __future__ import annotations

import requests

from tests.federation.groups.conftest import make_group

AP = {"Accept": "application/activity+json"}


def test_a_group_is_an_actor_with_its_own_key_and_organisers(parties):
    (a,) = parties(1)
    a.member("alice")
    group = make_group(a, "alice", slug="night-buses", joining="approval")
    url = f"{a.url}/groups/night-buses"
    document = requests.get(url, headers=AP, timeout=10).json()
    assert document["id"] == url and document["type"] == "Group"
    assert document["preferredUsername"] == "night-buses"
    assert document["inbox"] == f"{url}/inbox" and document["outbox"] == f"{url}/outbox"
    assert document["followers"] == f"{url}/followers"
    assert document["attributedTo"] == [f"{a.url}/u/alice"]
    assert document["publicKey"]["id"] == f"{url}#main-key"
    assert document["publicKey"]["owner"] == url
    assert "https://w3id.org/security/v1" in document["@context"]
    assert document["joining"] == "approval" and document["memberCount"] == 1
    assert document["members"]["totalItems"] == 1
    party_group = requests.get(f"{a.url}/g/ideas", headers=AP, timeout=10).json()
    assert document["publicKey"]["publicKeyPem"] != party_group["publicKey"]["publicKeyPem"]
    # The same key on every fetch (made once, stored)
    assert requests.get(url, headers=AP, timeout=10).json()["publicKey"] == document["publicKey"]
    moderators = requests.get(f"{url}/moderators", headers=AP, timeout=10).json()
    assert moderators["orderedItems"] == [f"{a.url}/u/alice"]
    members = requests.get(f"{url}/members", headers=AP, timeout=10).json()
    assert members["totalItems"] == 1 and members["orderedItems"] == []
    page = requests.get(url, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert group["ap_id"] == url


def test_the_group_signs_with_its_key(parties):
    from coopol.federation.actors import signer_for
    from coopol.federation.signatures import load_private_key

    (a,) = parties(1)
    a.member("alice")
    make_group(a, "alice", slug="night-buses")
    url = f"{a.url}/groups/night-buses"
    from coopol.core.uow import unit_of_work

    def sign():
        with unit_of_work():
            return signer_for(url)

    key_id, private = a.query(sign)
    assert key_id == f"{url}#main-key"
    public = requests.get(url, headers=AP, timeout=10).json()["publicKey"]["publicKeyPem"]
    from cryptography.hazmat.primitives import serialization

    derived = load_private_key(private).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert derived.strip() == public.strip()


def test_webfinger_names_groups_without_taking_a_members_name(parties):
    (a,) = parties(1)
    a.member("alice")
    a.member("paris")
    make_group(a, "alice", slug="night-buses", name="Night buses")
    make_group(a, "alice", slug="paris", name="Paris")

    def finger(resource):
        return requests.get(f"{a.url}/.well-known/webfinger", params={"resource": resource}, timeout=10)

    found = finger(f"acct:night-buses@{a.host}").json()
    assert found["subject"] == f"acct:night-buses@{a.host}"
    assert found["links"][0]["href"] == f"{a.url}/groups/night-buses"
    assert finger(f"acct:night-buses.group@{a.host}").json()["links"][0]["href"] == f"{a.url}/groups/night-buses"
    # `paris` is a member's handle: the member keeps it, the group is paris.group
    assert finger(f"acct:paris@{a.host}").json()["links"][0]["href"] == f"{a.url}/u/paris"
    clash = finger(f"acct:paris.group@{a.host}").json()
    assert clash["subject"] == f"acct:paris.group@{a.host}"
    assert clash["links"][0]["href"] == f"{a.url}/groups/paris"
    assert requests.get(f"{a.url}/groups/paris", headers=AP, timeout=10).json()["preferredUsername"] == "paris.group"
    by_url = finger(f"{a.url}/groups/paris").json()
    assert by_url["subject"] == f"acct:paris.group@{a.host}"
    assert finger(f"acct:nobody@{a.host}").status_code == 404
    assert finger(f"acct:ideas@{a.host}").json()["links"][0]["href"] == f"{a.url}/g/ideas"


def test_unknown_and_removed_groups(parties):
    from sqlalchemy import select

    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.groups.models import Group

    (a,) = parties(1)
    a.member("alice")
    make_group(a, "alice", slug="night-buses")
    assert requests.get(f"{a.url}/groups/nope", headers=AP, timeout=10).status_code == 404

    def remove():
        with unit_of_work():
            db.session.scalar(select(Group).where(Group.slug == "night-buses")).removed_at = utcnow()

    a.query(remove)
    gone = requests.get(f"{a.url}/groups/night-buses", headers=AP, timeout=10)
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"
