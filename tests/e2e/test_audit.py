"""`coopol --instance DIR audit IDEA_URL` between real instances (`coopol run` + `coopol worker`): no
difference while nobody meddles; a vote changed in an ally's SQLite file is found, exit status 1."""

from __future__ import annotations

import sqlite3

import pytest

from tests.e2e.test_convergence import Client, ally, copy_on, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_audit_between_real_instances_finds_a_vote_changed_in_a_database(real_instances):
    a, b = real_instances("a", "b")
    if "DATABASE_URL" in b.env:
        pytest.skip("the vote is changed in the SQLite file")
    ally((a, b))
    alice, bob = Client.many((a, "alice"), (b, "bob"))
    idea = alice.call("POST", "/ideas", 201, json={"title": "Free night buses", "body": "For everyone.",
                                                   "publish": True})
    on_b = wait_until("the idea on B", lambda: copy_on(b, idea["ap_id"]), instances=(a, b))
    bob.call("PUT", f"/ideas/{on_b['id']}/vote", 200, json={"value": "support"})
    alice.call("PUT", f"/ideas/{idea['id']}/vote", 200, json={"value": "oppose"})
    for instance in (a, b):
        wait_until(f"both votes on {instance.name}", lambda i=instance: (copy_on(i, idea["ap_id"]) or {}).get(
            "tally", {}).get("support") == 1 and copy_on(i, idea["ap_id"])["tally"]["oppose"] == 1, instances=(a, b))

    clean = b.coopol("audit", idea["ap_id"])
    assert "No difference" in clean.stdout and f"{a.host}: 0 support, 1 oppose" in clean.stdout

    with sqlite3.connect(b.path / "coopol.sqlite") as database:  # alice's opposition, turned on B's copy
        database.execute("UPDATE idea_votes SET value = 'support' WHERE member_id = "
                         "(SELECT id FROM members WHERE handle LIKE 'alice@%')")
    tampered = a.coopol("audit", idea["ap_id"], check=False)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert f"{b.host}: {a.url}/u/alice's vote is counted as support, but the voter signed oppose" in tampered.stdout
