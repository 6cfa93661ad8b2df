"""Two real instances ally through the CLI alone, their actors and WebFinger resolve, signed traffic
flows both ways, a third non-allied instance is refused, and revoking stops traffic both ways."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from coopol.federation.signatures import sign_request

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

AP = {"Accept": "application/activity+json"}


def signed_create(sender, receiver) -> requests.Response:
    """A Create signed with the sender's Group key, read from its instance folder like the server does."""
    key = (sender.path / "keys" / "group.pem").read_text()
    activity = {"@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{sender.url}/activities/{uuid.uuid4()}", "type": "Create", "actor": f"{sender.url}/g/ideas",
                "object": {"id": f"{sender.url}/notes/{uuid.uuid4()}", "type": "Note", "content": "hello ally"}}
    body = json.dumps(activity).encode()
    url = f"{receiver.url}/inbox"
    headers = sign_request("POST", url, {"Content-Type": "application/activity+json"}, body,
                           f"{sender.url}/g/ideas#main-key", key)
    return requests.post(url, data=body, headers=headers, timeout=10)


def test_two_instances_ally_through_the_cli_and_a_third_is_refused(real_instances):
    a, b, c = real_instances("a", "b", "c")

    # Discovery: WebFinger and actor documents of each instance resolve.
    for instance in (a, b):
        finger = requests.get(f"{instance.url}/.well-known/webfinger",
                              params={"resource": f"acct:ideas@{instance.host}"}, timeout=10).json()
        group_url = next(link["href"] for link in finger["links"] if link["rel"] == "self")
        group = requests.get(group_url, headers=AP, timeout=10).json()
        assert group["id"] == group_url == f"{instance.url}/g/ideas" and group["type"] == "Group"
        assert group["publicKey"]["owner"] == group_url
        assert requests.get(f"{instance.url}/actor", headers=AP, timeout=10).json()["type"] == "Application"

    # The alliance, through the CLI alone.
    requested = a.coopol("allies", "request", b.url)
    assert f"Asked {b.host}" in requested.stdout
    b.wait_for_status(a.host, "pending")
    b.coopol("allies", "accept", a.host)
    a.wait_for_status(b.host, "allied")
    b.wait_for_status(a.host, "allied")
    listed = {line.split("\t")[0]: line.split("\t")[1] for line in a.coopol("allies", "list").stdout.splitlines()}
    assert listed.get(b.host) == "allied"

    # Signed traffic both ways.
    assert signed_create(a, b).status_code == 202
    assert signed_create(b, a).status_code == 202
    followers = requests.get(f"{a.url}/g/ideas/followers", headers=AP, timeout=10).json()
    assert followers["orderedItems"] == [f"{b.url}/g/ideas"]

    # A third instance that is not allied is refused, and nothing it sent is stored.
    refused = signed_create(c, a)
    assert refused.status_code == 403 and "not an ally" in refused.json()["message"]
    assert a.status_of(c.host) is None

    # Revoking stops traffic both ways.
    a.coopol("allies", "revoke", b.host)
    b.wait_for_status(a.host, "revoked")
    assert signed_create(b, a).status_code == 403
    assert signed_create(a, b).status_code == 403
