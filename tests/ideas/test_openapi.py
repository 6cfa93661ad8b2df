from openapi_spec_validator import validate

IDEA_ROUTES = {
    "/api/v1/ideas": {"get", "post"},
    "/api/v1/ideas/{idea_id}": {"get", "patch"},
    "/api/v1/ideas/{idea_id}/withdraw": {"post"},
    "/api/v1/ideas/{idea_id}/answer": {"post"},
    "/api/v1/ideas/{idea_id}/vote": {"put", "delete"},
    "/api/v1/ideas/{idea_id}/comments": {"get", "post"},
    "/api/v1/ideas/{idea_id}/revisions": {"get"},
    "/api/v1/comments/{comment_id}": {"get", "patch", "delete"},
    "/api/v1/comments/{comment_id}/vote": {"put", "delete"},
    "/api/v1/stats": {"get"},
}


def test_openapi_document_validates_and_documents_every_ideas_route(client):
    spec = client.get("/api/openapi.json").json
    validate(spec)
    for path, methods in IDEA_ROUTES.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), (path, spec["paths"][path].keys())
    create = spec["paths"]["/api/v1/ideas"]["post"]
    assert {"201", "422", "401"} <= set(create["responses"])
    vote = spec["paths"]["/api/v1/ideas/{idea_id}/vote"]["put"]
    assert {"200", "409", "422", "404"} <= set(vote["responses"])
    idea = spec["components"]["schemas"]["Idea"]["properties"]
    for field in ("id", "ap_id", "url", "title", "body", "body_html", "tags", "scope", "language", "state", "answer",
                  "author", "origin", "created_at", "updated_at", "comment_count", "tally", "my_vote"):
        assert field in idea, field
