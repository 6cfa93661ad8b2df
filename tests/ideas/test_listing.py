"""Sorts, filters, full-text search, cursor pagination, and a bounded number of queries per page."""

from datetime import timedelta

import pytest
from sqlalchemy import event


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def set_columns(app, idea_id, **values):
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.models import Idea

    with app.app_context(), unit_of_work():
        idea = db.session.get(Idea, idea_id)
        for key, value in values.items():
            setattr(idea, key, value)


def test_sorts(app, client, member, create_idea):
    alice = member("alice")
    voters = [member(f"voter{n}") for n in range(4)]
    old, popular, debated, split = (create_idea("alice", title=t) for t in ("Old", "Popular", "Debated", "Split"))
    from coopol.core.time import utcnow

    for headers in voters[:3]:
        client.put(f"/api/v1/ideas/{popular}/vote", json={"value": "support"}, headers=headers)
    for n, headers in enumerate(voters):
        client.put(f"/api/v1/ideas/{split}/vote", json={"value": "support" if n % 2 else "oppose"}, headers=headers)
    for _ in range(3):
        client.post(f"/api/v1/ideas/{debated}/comments", json={"body": "Hmm"}, headers=alice)
    assert ids(client.get("/api/v1/ideas?sort=top"))[0] == popular
    assert ids(client.get("/api/v1/ideas?sort=comments"))[0] == debated
    assert ids(client.get("/api/v1/ideas?sort=controversial"))[0] == split
    assert ids(client.get("/api/v1/ideas?sort=new")) == [split, debated, popular, old]
    # Hot decays with age: the same engagement a month ago counts for less than today.
    from coopol.extensions import db
    from coopol.ideas.counters import refresh_rankings
    from coopol.ideas.models import Idea

    month_ago = utcnow() - timedelta(days=30)
    with app.app_context():
        idea = db.session.get(Idea, popular)
        idea.published_at = idea.last_activity_at = month_ago
        refresh_rankings(idea)
        db.session.commit()
    hot = ids(client.get("/api/v1/ideas?sort=hot"))
    assert hot.index(popular) == 3 and hot[0] in (split, debated)


def test_filters(client, member, create_idea):
    member("alice")
    paris = create_idea("alice", scope="fr-paris", tags=["transport"], language="fr")
    france = create_idea("alice", scope="fr", tags=["Transport", "climate"])
    berlin = create_idea("alice", scope="de", language="de")
    assert ids(client.get("/api/v1/ideas?scope=fr&sort=new")) == [france, paris]
    assert set(ids(client.get("/api/v1/ideas?scope=eu"))) == {paris, france, berlin}
    assert ids(client.get("/api/v1/ideas?scope=fr-paris")) == [paris]
    assert set(ids(client.get("/api/v1/ideas?tag=transport"))) == {paris, france}
    assert ids(client.get("/api/v1/ideas?tag=climate")) == [france]
    assert ids(client.get("/api/v1/ideas?language=de")) == [berlin]
    assert set(ids(client.get("/api/v1/ideas?origin=local"))) == {paris, france, berlin}
    assert ids(client.get("/api/v1/ideas?origin=ally.example")) == []
    assert ids(client.get("/api/v1/ideas?state=accepted")) == []
    assert set(ids(client.get("/api/v1/ideas?author=alice"))) == {paris, france, berlin}


def test_origin_filter_finds_copies_of_allies_ideas(app, client, member, create_idea):
    member("alice")
    local = create_idea("alice")
    copy = create_idea("alice", ap_id="https://ally.example/ideas/9", origin_host="ally.example",
                       origin_name="Ally party", url="https://ally.example/ideas/9", scope="somewhere-else")
    assert ids(client.get("/api/v1/ideas?origin=ally.example")) == [copy]
    assert ids(client.get("/api/v1/ideas?origin=local")) == [local]
    item = client.get(f"/api/v1/ideas/{copy}").json
    assert item["origin"] == {"host": "ally.example", "name": "Ally party"}
    assert item["ap_id"] == item["url"] == "https://ally.example/ideas/9"


def test_full_text_search_with_ranking(client, member, create_idea):
    member("alice")
    title_hit = create_idea("alice", title="Free public transport", body="For everyone.")
    body_hit = create_idea("alice", title="Cheaper tickets", body="Make public transport cheaper.")
    create_idea("alice", title="Parks", body="More trees.")
    assert ids(client.get("/api/v1/ideas?q=transport")) == [title_hit, body_hit]
    assert ids(client.get("/api/v1/ideas?q=TRANSP")) == [title_hit, body_hit]  # prefix of the last word
    assert ids(client.get("/api/v1/ideas?q=trees")) != []
    assert ids(client.get("/api/v1/ideas?q=nothing+matches+this")) == []
    # Search syntax typed by people is just words.
    for q in ['"', "transport OR", "NEAR(a b)", "a:*", "!!!", "'; DROP TABLE ideas; --", "*", "-x"]:
        assert client.get("/api/v1/ideas", query_string={"q": q}).status_code == 200


def test_search_follows_edits(client, member, create_idea):
    alice = member("alice")
    idea_id = create_idea("alice", title="Bicycle lanes", body="Paint them.")
    assert ids(client.get("/api/v1/ideas?q=bicycle")) == [idea_id]
    client.patch(f"/api/v1/ideas/{idea_id}", json={"title": "Tramway lines"}, headers=alice)
    assert ids(client.get("/api/v1/ideas?q=bicycle")) == []
    assert ids(client.get("/api/v1/ideas?q=tramway")) == [idea_id]


@pytest.mark.parametrize("sort", ["hot", "top", "new", "comments", "controversial"])
def test_cursor_pagination_visits_every_idea_once(client, member, create_idea, sort):
    member("alice")
    created = {create_idea("alice") for _ in range(7)}
    seen, cursor = [], None
    while True:
        query = {"sort": sort, "limit": 3, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/ideas", query_string=query)
        seen += ids(response)
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    # A cursor from another sort is refused rather than misread.
    first = client.get("/api/v1/ideas", query_string={"sort": sort, "limit": 3}).json["next_cursor"]
    other = "new" if sort != "new" else "top"
    r = client.get("/api/v1/ideas", query_string={"sort": other, "cursor": first})
    assert r.status_code == 422 and "cursor" in r.json["errors"]


@pytest.mark.parametrize("sort", ["hot", "top", "new", "comments", "controversial"])
def test_cursor_pages_cross_from_pinned_to_the_rest_once(app, client, member, create_idea, sort):
    """Pinned ideas come first and the pages walk into the others without skipping or repeating one, even
    when every idea ties on the sort's columns (the id breaks ties)."""
    from coopol.core.time import utcnow

    member("alice")
    created = [create_idea("alice") for _ in range(8)]
    pinned = set(created[2:5])
    for idea_id in pinned:
        set_columns(app, idea_id, pinned_at=utcnow())
    for limit in (1, 2, 3, 5):
        seen, cursor = [], None
        while True:
            query = {"sort": sort, "limit": limit, **({"cursor": cursor} if cursor else {})}
            response = client.get("/api/v1/ideas", query_string=query)
            assert response.status_code == 200, response.json
            seen += ids(response)
            cursor = response.json["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(created), (limit, seen)
        assert set(seen[:3]) == pinned
    first_page = ids(client.get("/api/v1/ideas", query_string={"sort": sort, "limit": 8}))
    assert set(first_page[:3]) == pinned and len(first_page) == 8


def test_listing_pages_are_read_from_an_index_not_sorted(app, client, member, create_idea):
    """Each sort's page is served by its index (no temporary sort of the whole table), which keeps a page's
    cost flat as the table grows. Checked on SQLite's plan (PostgreSQL chooses by table statistics)."""
    member("alice")
    create_idea("alice")
    with app.app_context():
        from coopol.extensions import db

        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's query plan")
        plans = {}
        for sort in ("hot", "top", "new", "comments", "controversial"):
            statements = []

            def capture(conn, cursor, statement, parameters, *args, statements=statements):
                statements.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                assert client.get(f"/api/v1/ideas?sort={sort}").status_code == 200
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            # The part after the pinned ideas (those are few, found by their own index, and may be sorted).
            listing = [s for s in statements if "FROM ideas" in s[0] and "LIMIT" in s[0]
                       and "pinned_at IS NULL" in s[0]]
            assert listing, statements
            pinned = [s for s in statements if "pinned_at IS NOT NULL" in s[0]]
            assert pinned, statements
            with db.engine.connect() as conn:
                plans[sort] = [" ".join(str(c) for c in row) for statement, parameters in listing
                               for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                # The pinned ideas come from their own small index, never from a walk through every idea.
                for statement, parameters in pinned:
                    plan = [" ".join(str(c) for c in row)
                            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
                    assert any("ix_ideas_pinned" in line for line in plan), plan
        for sort, plan in plans.items():
            assert not any("TEMP B-TREE FOR ORDER BY" in line for line in plan), (sort, plan)
            assert any(f"ix_ideas_sort_{'new' if sort == 'new' else sort}" in line for line in plan), (sort, plan)


def test_search_results_paginate(client, member, create_idea):
    member("alice")
    created = {create_idea("alice", title=f"Solar panels {n}", body="solar " * n) for n in range(1, 6)}
    first = client.get("/api/v1/ideas?q=solar&limit=2").json
    second = client.get(f"/api/v1/ideas?q=solar&limit=2&cursor={first['next_cursor']}").json
    third = client.get(f"/api/v1/ideas?q=solar&limit=2&cursor={second['next_cursor']}").json
    seen = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert sorted(seen) == sorted(created) and third["next_cursor"] is None


def test_pinned_first_hidden_and_removed_left_out(app, client, member, create_idea):
    from coopol.core.time import utcnow

    member("alice")
    mod = member("mod", role="moderator")
    pinned, normal, hidden, removed = (create_idea("alice") for _ in range(4))
    set_columns(app, pinned, pinned_at=utcnow())
    set_columns(app, hidden, hidden_at=utcnow(), hidden_reason="review")
    set_columns(app, removed, removed_at=utcnow())
    listed = ids(client.get("/api/v1/ideas?sort=new"))
    assert listed == [pinned, normal]
    assert set(ids(client.get("/api/v1/ideas?sort=new", headers=mod))) == {pinned, normal, hidden, removed}
    page = client.get("/ideas").get_data(as_text=True)
    assert page.index(f"/ideas/{pinned}\"") < page.index(f"/ideas/{normal}\"")


def test_web_index_has_page_links(client, member, create_idea):
    import html
    import re

    member("alice")
    for _ in range(23):
        create_idea("alice")
    page = client.get("/ideas?sort=new").get_data(as_text=True)
    assert page.count('data-testid="idea-card"') == 20 and 'rel="next"' in page and 'rel="prev"' not in page
    next_url = html.unescape(re.search(r'href="([^"]+)" rel="next"', page).group(1))
    second = client.get(next_url).get_data(as_text=True)
    assert second.count('data-testid="idea-card"') == 3 and 'rel="prev"' in second and 'rel="next"' not in second
    assert client.get("/ideas?page=abc").status_code == 200
    assert client.get("/ideas?cursor=abc").status_code == 200  # a stale or broken cursor: the first page


def _statements(app, client, url, headers=None) -> int:
    from coopol.extensions import db

    with app.app_context():
        engine = db.engine
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(url, headers=headers or {}).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_no_n_plus_one(app, client, member, create_idea):
    """The number of statements for a page does not grow with the number of ideas on it (5 vs 50)."""
    viewer = member("viewer")
    authors = [member(f"author{n}") for n in range(5)]

    def add_ideas(count: int, offset: int) -> None:
        for n in range(offset, offset + count):
            idea_id = create_idea(f"author{n % 5}", tags=[f"tag{n % 7}", "common"])
            if n % 2:
                client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=authors[n % 5])
                client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "oppose"}, headers=viewer)

    urls = ("/api/v1/ideas?limit=50", "/api/v1/ideas?limit=50&q=idea&tag=common", "/ideas", "/ideas?q=idea")
    add_ideas(5, 0)
    client.get("/api/v1/me", headers=viewer)  # the token's last use is recorded once, not on every call
    few = [_statements(app, client, url, viewer) for url in urls]
    add_ideas(45, 5)
    client.get("/api/v1/me", headers=viewer)
    app.extensions["coopol.ideas.totals"].clear()  # the web list's total is counted again, as for `few`
    many = [_statements(app, client, url, viewer) for url in urls]
    assert few == many
    # One page costs a handful of statements: the viewer, the page, tags, tallies, my votes, the fediverse's
    # likes and the bridging scores (one batch each, from the packages that add those fields), plus a count
    # and the header's unread notifications on the web.
    assert max(many) <= 10, many


def test_ones_drafts_page_by_new_without_a_publication_date(client, member, create_idea):
    alice = member("alice")
    drafts = [create_idea("alice", publish=False) for _ in range(5)]
    seen, cursor = [], None
    while True:
        query = {"state": "draft", "sort": "new", "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/ideas", query_string=query, headers=alice)
        seen += ids(response)
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(drafts))


def test_the_web_lists_total_stops_counting_past_its_cap(app, client, member, create_idea, monkeypatch):
    """Counting a million ideas took 2 s: the count stops at TOTAL_CAP + 1 and the page says "more than"."""
    from coopol.ideas import queries

    member("alice")
    for n in range(5):
        create_idea("alice", title=f"Idea number {n}")
    monkeypatch.setattr(queries, "TOTAL_CAP", 3)
    page = client.get("/ideas?sort=new").get_data(as_text=True)
    assert "More than 3 ideas" in page and "5 ideas" not in page
    with app.test_request_context():
        assert queries.approximate_total(None, None) == 4  # the count itself read 4 rows, not 5
    monkeypatch.setattr(queries, "TOTAL_CAP", 10)
    app.extensions["coopol.ideas.totals"].clear()
    assert "5 ideas" in client.get("/ideas?sort=new").get_data(as_text=True)


@pytest.mark.parametrize("sort", ["hot", "top", "new"])
def test_a_frequent_tag_and_territory_are_checked_along_the_sorts_index(app, client, member, create_idea,
                                                                        monkeypatch, sort):
    """SQLite takes a tag's or a territory's own index whenever it may: for a tag on 67,000 of 1,000,000 ideas
    it collected them all and sorted them (250 ms a page). A filter that matches many ideas is now checked
    row by row along the sort's index (no sort of the matches), a rare one still through its own index,
    and both give the same pages."""
    from coopol.ideas import queries

    member("alice")
    made = [create_idea("alice", scope=("fr-paris", "fr", "de")[n % 3], tags=[("transport", "climate")[n % 2]])
            for n in range(12)]
    for n, idea_id in enumerate(made):
        set_columns(app, idea_id, hot_score=float(n % 5), score=n % 4, support_count=n % 3)
    path = f"/api/v1/ideas?sort={sort}&tag=transport&scope=fr&limit=2"

    def pages(threshold: int) -> tuple[list[int], list[str]]:
        app.extensions.pop("coopol.ideas.frequent", None)
        monkeypatch.setattr(queries, "_threshold", lambda: threshold, raising=False)
        seen, statements, cursor = [], [], None
        with app.app_context():
            from coopol.extensions import db

            def capture(conn, cursor_, statement, parameters, *args):
                if "FROM ideas" in statement and "pinned_at IS NULL" in statement and "LIMIT" in statement:
                    statements.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                while True:
                    response = client.get(path + (f"&cursor={cursor}" if cursor else ""))
                    seen += ids(response)
                    cursor = response.json["next_cursor"]
                    if not cursor:
                        break
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            plans = []
            if db.engine.dialect.name == "sqlite":
                with db.engine.connect() as conn:
                    plans = [" ".join(str(c) for c in row) for statement, parameters in statements
                             for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        return seen, plans

    frequent, frequent_plan = pages(threshold=2)
    rare, _rare_plan = pages(threshold=1_000_000)
    expected = [i for n, i in enumerate(made) if n % 2 == 0 and n % 3 in (0, 1)]
    assert sorted(frequent) == sorted(expected) and frequent == rare
    if frequent_plan:
        index = f"ix_ideas_sort_{sort}"
        assert any(index in line for line in frequent_plan), frequent_plan
        assert not any("TEMP B-TREE FOR ORDER BY" in line for line in frequent_plan), frequent_plan


def test_a_language_and_an_origin_take_the_sorts_index_when_frequent_and_their_own_when_rare(
        app, client, member, create_idea, monkeypatch):
    """The same on SQLite for the language and the origin: a frequent one walks the sort's index, a rare one
    (or one no idea has: with statistics, SQLite walked all of a million ideas for it, 4 s) is a list of ids
    read from its own index. Both give the ideas the plain filter gives."""
    from coopol.extensions import db
    from coopol.ideas import queries

    member("alice")
    made = [create_idea("alice", language="de" if n == 0 else "en") for n in range(8)]
    for n, idea_id in enumerate(made):
        set_columns(app, idea_id, hot_score=float(n))
    monkeypatch.setattr(queries, "_threshold", lambda: 3, raising=False)
    app.extensions.pop("coopol.ideas.frequent", None)
    with app.app_context():
        sqlite = db.engine.dialect.name == "sqlite"
    statements = []

    def capture(conn, cursor, statement, parameters, *args):
        if "FROM ideas" in statement and "pinned_at IS NULL" in statement and "LIMIT" in statement:
            statements.append((statement, parameters))

    plans = {}
    for query, expected in (("language=en", made[:0:-1]), ("language=de", [made[0]]), ("language=it", []),
                            ("origin=local", made[::-1]), ("origin=ally.example", [])):
        statements.clear()
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                assert ids(client.get(f"/api/v1/ideas?sort=hot&{query}")) == expected, query
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            if sqlite:
                with db.engine.connect() as conn:
                    plans[query] = [" ".join(str(c) for c in row) for statement, parameters in statements
                                    for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    if not sqlite:
        return
    for query in ("language=en", "origin=local"):
        assert any("ix_ideas_sort_hot" in line for line in plans[query]), (query, plans[query])
        assert not any("TEMP B-TREE FOR ORDER BY" in line for line in plans[query]), (query, plans[query])
    for query in ("language=de", "language=it", "origin=ally.example"):
        assert any("LIST SUBQUERY" in line for line in plans[query]), (query, plans[query])
        assert not any("SCAN ideas USING INDEX ix_ideas_sort_hot" in line for line in plans[query]), plans[query]
