"""The web list `/ideas` pages by keyset like the API (coopol/ideas/queries.py): "next" and "previous"
carry a cursor, no page runs OFFSET, and the total is counted at most once a minute."""

from __future__ import annotations

import html
import re

from sqlalchemy import event

from coopol.extensions import db


def _ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="idea-card".*?href="/ideas/(\d+)"', page, re.S)]


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'href="([^"]+)" rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


def _statements(app, client, url) -> tuple[str, list[str]]:
    seen: list[str] = []

    def before(_conn, _cursor, statement, parameters, *_args):
        # SQLAlchemy may spell LIMIT as "LIMIT ? OFFSET ?" with an offset of 0: keep the offset's value.
        seen.append(statement.replace("OFFSET ?", f"OFFSET {list(parameters)[-1]}")
                    if "OFFSET ?" in statement and isinstance(parameters, list | tuple) else statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        return client.get(url).get_data(as_text=True), seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_next_and_previous_walk_the_whole_list_with_the_pinned_idea_first(app, client, member, create_idea):
    from coopol.core.time import utcnow
    from coopol.ideas.models import Idea

    member("alice")
    ids = [create_idea("alice") for _ in range(45)]
    with app.app_context():
        db.session.get(Idea, ids[10]).pinned_at = utcnow()
        db.session.commit()
    expected = [ids[10]] + [i for i in reversed(ids) if i != ids[10]]

    pages, url = [], "/ideas?sort=new"
    while url:
        page = client.get(url).get_data(as_text=True)
        assert "45 ideas" in page
        pages.append(_ids(page))
        url = _link(page, "next")
    assert [len(p) for p in pages] == [20, 20, 5]
    assert [i for p in pages for i in p] == expected

    # And back: each "previous" gives the page before, the first one last.
    page = client.get("/ideas?sort=new").get_data(as_text=True)
    last = client.get(_link(client.get(_link(page, "next")).get_data(as_text=True), "next")).get_data(as_text=True)
    middle = client.get(_link(last, "prev")).get_data(as_text=True)
    assert _ids(middle) == pages[1]
    first = client.get(_link(middle, "prev")).get_data(as_text=True)
    assert _ids(first) == pages[0] and _link(first, "prev") is None


def test_a_page_deep_in_the_list_runs_no_offset_and_no_count(app, client, member, create_idea):
    member("alice")
    for _ in range(30):
        create_idea("alice")
    first, statements = _statements(app, client, "/ideas?sort=top")
    counts = [s for s in statements if "count(*)" in s.lower()]
    assert counts
    second, statements = _statements(app, client, _link(first, "next"))
    assert len(_ids(second)) == 10
    assert not [s for s in statements if re.search(r"OFFSET (?!0\b)", s)]
    assert not [s for s in statements if "count(*)" in s.lower()]  # the total was counted a moment ago
