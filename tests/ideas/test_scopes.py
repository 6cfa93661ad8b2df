import pytest

from coopol.ideas.scopes import DEFAULT_SCOPES, ScopeTree


def test_default_hierarchy_descends_from_europe():
    tree = ScopeTree.from_config(DEFAULT_SCOPES)
    assert set(tree.descendants("fr")) == {"fr", "fr-idf", "fr-paris"}
    assert [s.name for s in tree.path("fr-paris")] == ["Europe", "France", "Île-de-France", "Paris"]
    assert tree.ordered()[0].code == "eu" and tree.scopes["fr-paris"].depth == 3


@pytest.mark.parametrize("entries", [
    [{"code": "a", "parent": "missing"}],
    [{"code": "a", "parent": "b"}, {"code": "b", "parent": "a"}],
])
def test_broken_hierarchies_are_refused(entries):
    with pytest.raises(ValueError):
        ScopeTree.from_config(entries)


def test_an_instance_configures_its_own_scopes(make_app, create_member, token_for):
    scopes = [{"code": "qc", "name": "Québec"}, {"code": "mtl", "name": "Montréal", "parent": "qc"}]
    app = make_app("quebec", SCOPES=scopes)
    client = app.test_client()
    create_member("alice", target_app=app)
    alice = token_for("alice", target_app=app)
    r = client.post("/api/v1/ideas", json={"title": "Métro", "body": "x", "scope": "fr"}, headers=alice)
    assert r.status_code == 422 and "scope" in r.json["errors"]
    r = client.post("/api/v1/ideas", json={"title": "Métro", "body": "x", "scope": "mtl"}, headers=alice)
    assert r.status_code == 201 and r.json["scope_name"] == "Montréal"
    assert len(client.get("/api/v1/ideas?scope=qc").json["items"]) == 1
    assert "Montréal" in client.get("/ideas/new", headers=alice).get_data(as_text=True)
