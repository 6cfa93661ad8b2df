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


def test_every_operation_documents_its_success_answer(client):
    """A documented operation whose success answer is missing (GET /me/export had none) makes clients and
    schemathesis read the real answer against the error shape."""
    spec = client.get("/api/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            success = [code for code in operation["responses"] if code.startswith("2")]
            assert success, (method, path)
    export = spec["paths"]["/api/v1/me/export"]["get"]["responses"]["200"]
    assert "application/json" in export["content"]


def test_the_document_bounds_every_id_and_number(client):
    spec = client.get("/api/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert schemas["CommentCreate"]["properties"]["parent_id"]["maximum"] == 2**31 - 1
    assert schemas["CommentCreate"]["properties"]["parent_id"]["minimum"] == 1
    target = schemas["ReportCreate"]["properties"]["target_id"]["oneOf"]
    assert {option["type"] for option in target} == {"integer", "string"}
    assert schemas["MarkRead"]["properties"]["ids"]["items"]["maximum"] == 2**31 - 1
    for path, operations in spec["paths"].items():
        for parameter in operations.get("parameters", []):
            if parameter["schema"].get("type") == "integer":
                assert parameter["schema"]["minimum"] == 1 and parameter["schema"]["maximum"] == 2**31 - 1, path
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []) if method != "parameters" else []:
                if parameter["name"] == "limit":
                    assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, 100), path
    profile = spec["paths"]["/api/v1/members/{handle}"]["get"]["responses"]
    assert {"200", "404"} <= set(profile)
    assert {"follower_count", "following_count", "idea_count"} <= set(schemas["MemberProfile"]["properties"])
