"""The gatherings API is in the OpenAPI document, with its error answers."""

from openapi_spec_validator import validate

EVENT_ROUTES = {
    "/api/v1/events": {"get", "post"},
    "/api/v1/events/{event_id}": {"get", "patch"},
    "/api/v1/events/{event_id}/cancel": {"post"},
    "/api/v1/events/{event_id}/report": {"post"},
    "/api/v1/events/{event_id}/rsvp": {"put", "delete"},
    "/api/v1/events/{event_id}/attendees": {"get"},
    "/api/v1/events/{event_id}/attendees/{handle}/approve": {"post"},
    "/api/v1/events/{event_id}/attendees/{handle}/reject": {"post"},
}


def test_openapi_documents_every_events_route(client):
    spec = client.get("/api/openapi.json").json
    validate(spec)
    for path, methods in EVENT_ROUTES.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), (path, spec["paths"][path].keys())
    assert {"201", "401", "422"} <= set(spec["paths"]["/api/v1/events"]["post"]["responses"])
    assert {"200", "404", "409"} <= set(spec["paths"]["/api/v1/events/{event_id}/rsvp"]["put"]["responses"])
    event = spec["components"]["schemas"]["Event"]["properties"]
    for field in ("id", "ap_id", "url", "title", "description_html", "starts_at", "ends_at", "timezone", "mode",
                  "place", "online_url", "capacity", "going_count", "waitlist_count", "state", "organiser", "group",
                  "origin", "my_rsvp", "report"):
        assert field in event, field
    assert "gatherings" in spec["components"]["schemas"]["Stats"]["properties"]
