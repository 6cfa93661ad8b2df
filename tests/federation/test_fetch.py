"""Fetching remote documents: allies only, signed, AP content type, id == URL, size capped, no redirects."""

from __future__ import annotations

import pytest

from coopol.federation.fetch import FetchError, fetch_actor, fetch_document
from coopol.federation.signatures import generate_rsa_keypair

AP_JSON = {"Content-Type": "application/activity+json"}


@pytest.fixture
def fetcher(instance, peer):
    a, remote = instance("a"), peer()
    remote.ally_of(a)
    return a, remote


def fetch(live, url, **kwargs):
    return live.query(lambda: fetch_document(url, **kwargs))


def test_fetches_an_activitypub_document_with_a_signed_get(fetcher):
    a, remote = fetcher
    remote.answer("/notes/1", 200, {"id": f"{remote.url}/notes/1", "type": "Note"}, AP_JSON)
    assert fetch(a, f"{remote.url}/notes/1")["type"] == "Note"
    sent = remote.received[-1]
    assert sent["method"] == "GET" and 'headers="(request-target) host date"' in sent["headers"]["Signature"]
    assert "application/activity+json" in sent["headers"]["Accept"]


def test_ld_json_with_profile_is_accepted(fetcher):
    a, remote = fetcher
    remote.answer("/n", 200, {"id": f"{remote.url}/n"},
                  {"Content-Type": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'})
    assert fetch(a, f"{remote.url}/n")["id"] == f"{remote.url}/n"


@pytest.mark.parametrize("content_type", ["text/html", "application/json", "application/ld+json; profile=\"x\""])
def test_other_content_types_are_refused(fetcher, content_type):
    a, remote = fetcher
    remote.answer("/n", 200, {"id": f"{remote.url}/n"}, {"Content-Type": content_type})
    with pytest.raises(FetchError, match="not ActivityPub"):
        fetch(a, f"{remote.url}/n")


def test_a_document_whose_id_is_not_its_url_is_refused(fetcher):
    a, remote = fetcher
    remote.answer("/n", 200, {"id": f"{remote.url}/other"}, AP_JSON)
    with pytest.raises(FetchError, match="whose id"):
        fetch(a, f"{remote.url}/n")


def test_more_than_1_mib_is_refused(fetcher):
    a, remote = fetcher
    remote.answer("/big", 200, {"id": f"{remote.url}/big", "content": "x" * (1024 * 1024)}, AP_JSON)
    with pytest.raises(FetchError, match="exceeds"):
        fetch(a, f"{remote.url}/big")


def test_redirects_are_not_followed(fetcher):
    a, remote = fetcher
    remote.answer("/moved", 302, b"", {"Location": f"{remote.url}/n"})
    with pytest.raises(FetchError, match="302"):
        fetch(a, f"{remote.url}/moved")


def test_hosts_that_are_not_allies_are_never_contacted(instance, peer):
    a, stranger = instance("a"), peer()
    with pytest.raises(FetchError, match="not an ally") as caught:
        fetch(a, f"{stranger.url}/n")
    assert caught.value.status_hint == 403 and stranger.received == []


def test_production_instances_refuse_loopback_peers_whatever_they_say(make_app, peer):
    production, remote = make_app("prod", URL="https://ideas.party.example"), peer()
    with production.app_context(), pytest.raises(FetchError, match="refused") as caught:
        fetch_document(f"{remote.url}/n", allow_host=remote.host)
    assert caught.value.status_hint == 403 and remote.received == []


def test_an_actor_whose_key_belongs_to_someone_else_is_refused(fetcher):
    a, remote = fetcher
    _, pem = generate_rsa_keypair()
    remote.answer("/g/ideas", 200, {"id": f"{remote.url}/g/ideas", "type": "Group", "inbox": f"{remote.url}/inbox",
                                    "publicKey": {"id": f"{remote.url}/g/ideas#main-key",
                                                  "owner": f"{remote.url}/u/mallory", "publicKeyPem": pem}}, AP_JSON)
    with pytest.raises(FetchError, match="someone else"):
        a.query(lambda: fetch_actor(f"{remote.url}/g/ideas"))
