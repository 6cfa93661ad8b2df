"""Listing ideas: sorts, filters, full-text search and pagination (keyset cursors for the API, page
numbers for the web). One query per page; presenters.py then batch-loads tags, tallies and my votes."""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from coopol.accounts.models import Member
from coopol.core.errors import ValidationFailed
from coopol.core.schemas import MAX_ID
from coopol.extensions import db
from coopol.groups.models import Group
from coopol.ideas.extend import extra_sorts
from coopol.ideas.guards import is_moderator
from coopol.ideas.models import Idea, IdeaState, IdeaTag, Tag
from coopol.ideas.scopes import scope_tree
from coopol.ideas.search import apply_search, search_terms

SORTS = ("hot", "top", "new", "comments", "controversial", "relevance")
TOTAL_SECONDS = 60  # how old the web list's "about N ideas" may be
TOTAL_CAP = 10_000  # past it, the web list says "more than 10,000 ideas" (counting further is not flat)
PINNED = case((Idea.pinned_at.is_not(None), 1), else_=0)
SORT_KEYS = {
    "hot": [(Idea.hot_score, "float")],
    "top": [(Idea.score, "int"), (Idea.support_count, "int")],
    "new": [(Idea.published_at, "datetime")],
    "comments": [(Idea.comment_count, "int"), (Idea.last_activity_at, "datetime")],
    "controversial": [(Idea.controversy_score, "float"), (Idea.support_count, "int")],
}


def sort_names() -> tuple[str, ...]:
    """The built-in sorts and those other packages add (extend.add_sort), relevance last."""
    return SORTS[:-1] + tuple(extra_sorts()) + SORTS[-1:]


@dataclass
class IdeaPage:
    ideas: list[Idea]
    next_cursor: str | None = None
    total: int | None = None
    page: int = 1
    pages: int = 1
    sort: str = "hot"
    previous_cursor: str | None = None  # keyset pages asked for `with_previous` (the web's)


# SQLite and a filter with an index (a tag, a territory, a language, an origin). Its planner takes the filter's
# index whenever it has no statistics (the default: Coopol runs no ANALYZE), and so, for a tag on 67,000 of
# 1,000,000 ideas, collected them all and sorted them (about 250 ms a page, for any sort), where walking the
# sort's own index and checking the filter on each row finds a page of 20 in 6-9 ms. With statistics it does
# the opposite, and walked the whole sort index for a language that no idea has (4 s at a million). So each
# filter is probed first (an index read stopped at the threshold, remembered a minute per app and process): a
# frequent one is written so that no index serves it (the sort's index is walked), a rare one as a list of
# ids read from its index (then fetched and sorted: few).
FREQUENT_SECONDS = 60.0


def _remembered(name: str, key: tuple, seconds: float, compute):
    """`compute()`, kept `seconds` per app and process under `key` in `app.extensions[name]` (at most about
    1,000 keys: past that the store starts afresh)."""
    kept = current_app.extensions.setdefault(name, {})
    now = time.monotonic()
    found = kept.get(key)
    if found is not None and found[0] > now:
        return found[1]
    value = compute()
    if len(kept) > 1000:
        kept.clear()
    kept[key] = (now + seconds, value)
    return value


def _threshold() -> int:
    """How many matches make a filter "frequent": walking the sort's index costs about
    page × ideas / matches rows, collecting costs the matches; they meet near √(page × ideas × 5)."""
    ideas = db.session.scalar(select(func.max(Idea.id))) or 0
    return max(2000, int((100 * ideas) ** 0.5))


def _frequent(kind: str, value, matches) -> bool:
    """Whether `matches` (a select of one column per matching idea) reaches the threshold; remembered."""
    def probe() -> bool:
        limit = _threshold()
        return (db.session.scalar(select(func.count()).select_from(matches.limit(limit).subquery())) or 0) >= limit

    return _remembered("coopol.ideas.frequent", (kind, value), FREQUENT_SECONDS, probe)


def _narrow(stmt, walk: bool, key: tuple, test, indexless):
    """`stmt` with one filter on an indexed column: as `test`, or on SQLite's sorted pages (`walk`) as
    `indexless` (the same test, which no index serves) when it matches many ideas, else as a list of ids."""
    if not walk:
        return stmt.where(test)
    if _frequent(*key, select(Idea.id).where(test)):
        return stmt.where(indexless)
    return stmt.where(Idea.id.in_(select(Idea.id).where(test)))


def _filtered(viewer: Member | None, *, state=None, tag=None, scope=None, language=None, origin=None,
              author=None, group=None, by_sort_index: bool = False):
    """The ideas the viewer may see that pass the filters. `by_sort_index` (a sorted page, not a count):
    on SQLite, a frequent tag, territory, language or origin is checked row by row along the sort's index,
    a rare one read from its own index (see above)."""
    walk = by_sort_index and db.session.get_bind().dialect.name == "sqlite"
    stmt = select(Idea)
    if state == IdeaState.DRAFT:
        # Drafts are private: this lists the viewer's own.
        stmt = stmt.where(Idea.state == IdeaState.DRAFT, Idea.author_id == getattr(viewer, "id", -1))
    elif state:
        stmt = stmt.where(Idea.state == state)
    else:
        stmt = stmt.where(Idea.state.in_([IdeaState.PUBLISHED, IdeaState.EVALUATING, IdeaState.ACCEPTED,
                                          IdeaState.REJECTED]))
    if not is_moderator(viewer):
        stmt = stmt.where(Idea.hidden_at.is_(None), Idea.removed_at.is_(None))
    if tag:
        name = tag.lower().lstrip("#")
        tagged = select(IdeaTag.idea_id).join(Tag).where(Tag.name == name)
        if walk and _frequent("tag", name, tagged):
            tag_id = select(Tag.id).where(Tag.name == name).scalar_subquery()
            stmt = stmt.where(select(IdeaTag.idea_id).where(IdeaTag.idea_id == Idea.id, IdeaTag.tag_id == tag_id)
                              .exists())
        else:
            stmt = stmt.where(Idea.id.in_(tagged))
    if scope:
        scopes = scope_tree().descendants(scope)
        stmt = _narrow(stmt, walk, ("scope", scope), Idea.scope.in_(scopes), Idea.scope.concat("").in_(scopes))
    if language:
        stmt = _narrow(stmt, walk, ("language", language), Idea.language == language,
                       Idea.language.concat("") == language)
    if origin:
        local = origin == "local" or origin.lower() == current_app.config["SERVER_HOST"]
        if local:
            stmt = _narrow(stmt, walk, ("origin", None), Idea.origin_host.is_(None),
                           Idea.origin_host.concat("").is_(None))
        else:
            host = origin.lower()
            stmt = _narrow(stmt, walk, ("origin", host), Idea.origin_host == host,
                           Idea.origin_host.concat("") == host)
    if author:
        stmt = stmt.where(Idea.author_id.in_(select(Member.id).where(Member.handle == author.lower())))
    if group:
        stmt = stmt.where(Idea.group_id.in_(select(Group.id).where(Group.slug == group.strip().lower())))
    return stmt


def _keys(sort: str, relevance, pinned_first: bool, drafts: bool = False):
    keys = [(PINNED, "int")] if pinned_first else []
    if drafts and sort == "new":
        keys += [(Idea.created_at, "datetime")]  # drafts have no publication date yet
    else:
        keys += [(relevance, "float")] if sort == "relevance" else SORT_KEYS.get(sort) or extra_sorts()[sort].keys
    return keys + [(Idea.id, "int")]


def _encode(sort: str, values: list) -> str:
    raw = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps([sort, raw], separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str, kinds: list[str]) -> list:
    invalid = ValidationFailed.field("cursor", _("This cursor is not valid for this list; start again without it."))
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        cursor_sort, raw = data
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise invalid from None
    if cursor_sort != sort or not isinstance(raw, list) or len(raw) != len(kinds):
        raise invalid
    values = []
    for value, kind in zip(raw, kinds, strict=True):
        try:
            if kind == "datetime":
                values.append(datetime.fromisoformat(value))
            elif kind == "int" and isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ID:
                values.append(value)
            elif kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
                values.append(float(value))
            else:
                raise invalid
        except (TypeError, ValueError):
            raise invalid from None
    return values


def _before(keys, values):
    """Rows before the cursor in the descending order: `_after` mirrored, for the previous page."""
    if all(isinstance(expression, InstrumentedAttribute) for expression, _kind in keys):
        return tuple_(*[k[0] for k in keys]) > tuple_(*[literal(v, k[0].type) for k, v in zip(keys, values,
                                                                                             strict=True)])
    clauses = []
    for i, ((expression, _kind), value) in enumerate(zip(keys, values, strict=True)):
        equal = [k[0] == v for k, v in zip(keys[:i], values[:i], strict=True)]
        clauses.append(and_(*equal, expression > value))
    return or_(*clauses)


def _seek_back(stmt, keys, limit: int, cursor_values: list | None) -> list[tuple[Idea, list]]:
    """The rows just before the cursor (or the last rows), nearest first."""
    if cursor_values is not None:
        stmt = stmt.where(_before(keys, cursor_values))
    rows = db.session.execute(stmt.add_columns(*[e.label(f"k{i}") for i, (e, _k) in enumerate(keys)])
                              .order_by(*[expression.asc() for expression, _kind in keys])
                              .limit(limit)).unique().all()
    return [(row[0], list(row[1:])) for row in rows]


def _after(keys, values):
    """Rows after the cursor in a descending order on every key. Plain columns compare as one row value,
    `(a, b, id) < (x, y, z)`, which both engines answer from the sort's index; an expression (relevance,
    the pinned flag of the web's pages) is spelled out as an OR of prefixes."""
    if all(isinstance(expression, InstrumentedAttribute) for expression, _kind in keys):
        return tuple_(*[k[0] for k in keys]) < tuple_(*[literal(v, k[0].type) for k, v in zip(keys, values,
                                                                                             strict=True)])
    clauses = []
    for i, ((expression, _kind), value) in enumerate(zip(keys, values, strict=True)):
        equal = [k[0] == v for k, v in zip(keys[:i], values[:i], strict=True)]
        clauses.append(and_(*equal, expression < value))
    return or_(*clauses)


def _seek(stmt, keys, limit: int, cursor_values: list | None) -> list[tuple[Idea, list]]:
    """One keyset page of `stmt` ordered by `keys`, descending: (idea, its key values) pairs."""
    if cursor_values is not None:
        stmt = stmt.where(_after(keys, cursor_values))
    rows = db.session.execute(stmt.add_columns(*[e.label(f"k{i}") for i, (e, _k) in enumerate(keys)])
                              .order_by(*[expression.desc() for expression, _kind in keys])
                              .limit(limit)).unique().all()
    return [(row[0], list(row[1:])) for row in rows]


def list_ideas(viewer: Member | None = None, *, sort: str | None = None, q: str | None = None,
               cursor: str | None = None, limit: int = 20, page: int | None = None, pinned_first: bool = True,
               before: str | None = None, with_previous: bool = False, **filters) -> IdeaPage:
    """A page of ideas the viewer may see. `cursor` (keyset: the API, the web list) or `page` (counted,
    with OFFSET: a group's few) paginates. `before`: the page ending just before that cursor (the web's
    "previous"); `with_previous`: the page also says where its previous one ends (`previous_cursor`)."""
    terms = search_terms(q)
    sort = sort or ("relevance" if terms else "hot")
    if sort not in sort_names():
        raise ValidationFailed.field("sort", _("Choose one of: %(choices)s.", choices=", ".join(sort_names())))
    if sort == "relevance" and not terms:
        sort = "hot"
    stmt = _filtered(viewer, by_sort_index=sort != "relevance" and page is None, **filters)
    if sort in extra_sorts():
        stmt = extra_sorts()[sort].prepare(stmt)
    relevance = None
    if terms:
        stmt, relevance = apply_search(stmt, terms)
    drafts = filters.get("state") == IdeaState.DRAFT
    keys = _keys(sort, relevance, pinned_first and sort != "relevance", drafts)
    order = [expression.desc() for expression, _kind in keys]
    limit = max(1, min(int(limit), 100))

    if page is not None:
        total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
        pages = max(1, -(-total // limit))
        page = max(1, min(page, pages))
        ideas = list(db.session.scalars(stmt.order_by(*order).offset((page - 1) * limit).limit(limit)).unique())
        return IdeaPage(ideas, None, total, page, pages, sort)

    # The API's keyset pages: pinned ideas first, then the others. Each part is ordered by the sort's own
    # columns, which an index serves (an ORDER BY on "pinned first" could not use one and sorted the whole
    # table). The cursor says which part it stopped in: [1 if in the pinned part else 0, keys..., id].
    keys = _keys(sort, relevance, False, drafts)
    kinds = ["int"] + [kind for _e, kind in keys]
    after, in_pinned = None, True
    if cursor:
        flag, *after = _decode(cursor, sort, kinds)
        in_pinned = flag == 1
    if not pinned_first or sort == "relevance":
        parts = [(0, stmt)]
    else:
        # The pinned ones first: their ids come from their partial index (planners left alone may walk the
        # sort's index through every idea looking for them); usually there are none.
        pinned = list(db.session.scalars(select(Idea.id).where(Idea.pinned_at.is_not(None)))) \
            if in_pinned or before else []
        parts = [(1, stmt.where(Idea.id.in_(pinned)))] if pinned else []
        parts.append((0, stmt.where(Idea.pinned_at.is_(None))))
    if before:
        return _page_before(parts, keys, limit, sort, _decode(before, sort, kinds))
    found: list[tuple[int, Idea, list]] = []
    for flag, part in parts:
        found += [(flag, idea, values) for idea, values in _seek(part, keys, limit + 1 - len(found), after)]
        after = None  # a cursor applies to the part it was taken in; the next part starts at its top
        if len(found) > limit:
            break
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        flag, _idea, values = found[-1]
        next_cursor = _encode(sort, [flag, *values])
    previous_cursor = None
    if with_previous and cursor and found:
        flag, _idea, values = found[0]
        previous_cursor = _encode(sort, [flag, *values])
    return IdeaPage([idea for _f, idea, _v in found], next_cursor, sort=sort, previous_cursor=previous_cursor)


def _page_before(parts: list, keys: list, limit: int, sort: str, cursor: list) -> IdeaPage:
    """The `limit` ideas just before `cursor` (in the part it was taken in, then the parts above it). Near
    the top there may be fewer: that page is the first one, which starts at the top."""
    flag, *values = cursor
    above = [(f, part) for f, part in parts if f >= flag]  # parts are listed top first: pinned (1), others (0)
    found: list[tuple[int, Idea, list]] = []
    position: list | None = values
    for part_flag, part in reversed(above):
        found += [(part_flag, idea, vals) for idea, vals in _seek_back(part, keys, limit + 1 - len(found),
                                                                       position if part_flag == flag else None)]
        if len(found) > limit:
            break
    if len(found) <= limit:  # the first page
        first = []
        for part_flag, part in parts:
            first += [(part_flag, idea, vals) for idea, vals in _seek(part, keys, limit + 1 - len(first), None)]
            if len(first) > limit:
                break
        found = first
        next_cursor = _encode(sort, [found[limit - 1][0], *found[limit - 1][2]]) if len(found) > limit else None
        return IdeaPage([idea for _f, idea, _v in found[:limit]], next_cursor, sort=sort)
    found = list(reversed(found[:limit]))
    first_flag, _idea, first_values = found[0]
    last_flag, _idea, last_values = found[-1]
    return IdeaPage([idea for _f, idea, _v in found], _encode(sort, [last_flag, *last_values]), sort=sort,
                    previous_cursor=_encode(sort, [first_flag, *first_values]))


def approximate_total(viewer: Member | None, q: str | None, **filters) -> int:
    """How many ideas a list holds, counted at most once a minute per process for each filter (and
    whether the viewer sees hidden ones): a count walks every matching row, too slow for every page. The
    count stops at TOTAL_CAP + 1 (more means "more than TOTAL_CAP"): a full count of a million ideas took
    2 s on PostgreSQL, once a minute in every web process and for every filter."""
    key = (is_moderator(viewer), q, tuple(sorted((k, v) for k, v in filters.items() if v)))
    if filters.get("state") == IdeaState.DRAFT:
        key += (getattr(viewer, "id", None),)

    def count() -> int:
        stmt = _filtered(viewer, **filters)
        terms = search_terms(q)
        if terms:
            stmt, _relevance = apply_search(stmt, terms)
        return db.session.scalar(select(func.count()).select_from(
            stmt.order_by(None).with_only_columns(Idea.id).limit(TOTAL_CAP + 1).subquery())) or 0

    return _remembered("coopol.ideas.totals", key, TOTAL_SECONDS, count)


@dataclass
class CommentPage:
    comments: list  # Comment, in tree order (depth-first, oldest first among siblings)
    next_cursor: str | None = None


def list_comments(idea: Idea, *, cursor: str | None = None, limit: int = 50) -> CommentPage:
    """Threads in tree order, paginated by top-level comment: two queries per page."""
    from coopol.ideas.models import Comment

    limit = max(1, min(int(limit), 100))
    roots_stmt = select(Comment).where(Comment.idea_id == idea.id, Comment.parent_id.is_(None))
    if cursor:
        created_at, last_id = _decode(cursor, "comments", ["datetime", "int"])
        roots_stmt = roots_stmt.where(or_(Comment.created_at > created_at,
                                          and_(Comment.created_at == created_at, Comment.id > last_id)))
    roots = list(db.session.scalars(roots_stmt.order_by(Comment.created_at, Comment.id).limit(limit + 1)))
    next_cursor = None
    if len(roots) > limit:
        roots = roots[:limit]
        next_cursor = _encode("comments", [roots[-1].created_at, roots[-1].id])
    replies = list(db.session.scalars(select(Comment).where(Comment.root_id.in_([r.id for r in roots]))
                                      .order_by(Comment.created_at, Comment.id))) if roots else []
    children: dict[int, list] = {}
    for reply in replies:
        children.setdefault(reply.parent_id, []).append(reply)
    ordered: list = []

    def visit(comment) -> None:
        ordered.append(comment)
        for child in children.get(comment.id, []):
            visit(child)

    for root in roots:
        visit(root)
    return CommentPage(ordered, next_cursor)


def debate_sides(idea: Idea) -> dict[str, list]:
    """Comments for and against, side by side, the most approved first (deleted ones left out)."""
    from coopol.ideas.models import Comment

    sides: dict[str, list] = {"for": [], "against": [], "neutral": []}
    for comment in db.session.scalars(
            select(Comment).where(Comment.idea_id == idea.id, Comment.deleted_at.is_(None))
            .order_by((Comment.up_count - Comment.down_count).desc(), Comment.created_at)):
        sides.setdefault(comment.stance, []).append(comment)
    return sides


_VOTES_SQL: dict[tuple[str, int], str] = {}


def member_votes(member_id: int, idea_ids: list[int]) -> dict[int, str]:
    """`{idea_id: value}` of a member's votes among `idea_ids`, in one statement written once per
    placeholder style and list length: on the members' shared list this is the whole of a request's
    own work, and building, coercing and caching a Core `select` cost more than running it (issue 16)."""
    if not idea_ids:
        return {}
    connection = db.session.connection()
    style = connection.dialect.paramstyle
    sql = _VOTES_SQL.get((style, len(idea_ids)))
    if sql is None:
        mark = "?" if style == "qmark" else "%s"
        sql = (f"SELECT idea_id, value FROM idea_votes WHERE member_id = {mark} "
               f"AND idea_id IN ({', '.join([mark] * len(idea_ids))})")
        if len(_VOTES_SQL) < 1024:  # page sizes are bounded: a few dozen lengths at most
            _VOTES_SQL[(style, len(idea_ids))] = sql
    return dict(connection.exec_driver_sql(sql, (member_id, *idea_ids)).all())
