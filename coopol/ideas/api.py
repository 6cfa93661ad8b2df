"""Ideas API (`/api/v1`): thin handlers over services.py, documented by flask-smorest."""

from __future__ import annotations

from flask import request
from flask_login import login_required
from sqlalchemy import func, select

from coopol.accounts.auth import viewer as _viewer
from coopol.accounts.services import get_member_by_reference, member_view, profile_counts
from coopol.core.cache import MemberOverlay, public_cache
from coopol.core.database import reads_first
from coopol.core.schemas import Blueprint
from coopol.extensions import db
from coopol.ideas import presenters, queries, schemas, services
from coopol.ideas.guards import is_moderator
from coopol.ideas.models import Idea, IdeaState
from coopol.ideas.stats import participation_stats

blp = Blueprint("ideas_api", __name__, url_prefix="/api/v1", description="Ideas, debate and votes")


def _idea(idea) -> dict:
    return presenters.one_idea_view(idea, _viewer())


@blp.post("/ideas")
@login_required
@blp.arguments(schemas.IdeaCreateSchema)
@blp.response(201, schemas.IdeaSchema)
@blp.errors(401, 403, 422)
def create_idea(data):
    """Propose an idea (published at once unless `publish` is false)."""
    return _idea(services.create_idea(_viewer(), **data))


def _shares_the_visitors_list(member) -> bool:
    """Members see the visitors' list, but moderators (hidden ideas too) and anyone's own drafts."""
    return not is_moderator(member) and request.args.get("state") != IdeaState.DRAFT


@blp.get("/ideas")
@public_cache(members=MemberOverlay(_shares_the_visitors_list, presenters.my_part_of_ideas))
@blp.arguments(schemas.IdeaListQuerySchema, location="query")
@blp.response(200, schemas.IdeaListSchema)
@blp.errors(422)
def list_ideas(args):
    """Ideas, sorted and filtered; full-text search with `q`."""
    page = services.list_ideas(_viewer(), **args)
    return {"items": presenters.idea_views(page.ideas, _viewer()), "next_cursor": page.next_cursor}


@blp.get("/ideas/<int:idea_id>")
@public_cache
@blp.response(200, schemas.IdeaSchema)
@blp.errors(404)
def get_idea(idea_id: int):
    return _idea(services.get_idea(idea_id, _viewer()))


@blp.patch("/ideas/<int:idea_id>")
@login_required
@blp.arguments(schemas.IdeaUpdateSchema)
@blp.response(200, schemas.IdeaSchema)
@blp.errors(401, 403, 404, 409, 422)
def update_idea(data, idea_id: int):
    """Edit one's idea; after others voted or commented, every version is kept."""
    idea = services.get_idea(idea_id, _viewer())
    return _idea(services.update_idea(_viewer(), idea, **data))


@blp.post("/ideas/<int:idea_id>/publish")
@login_required
@blp.response(200, schemas.IdeaSchema)
@blp.errors(401, 403, 404, 409)
def publish_idea(idea_id: int):
    """Publish one's draft."""
    return _idea(services.publish_idea(_viewer(), services.get_idea(idea_id, _viewer())))


@blp.post("/ideas/<int:idea_id>/withdraw")
@login_required
@blp.arguments(schemas.WithdrawSchema)
@blp.response(200, schemas.IdeaSchema)
@blp.errors(401, 403, 404, 409, 422)
def withdraw_idea(data, idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    return _idea(services.withdraw_idea(_viewer(), idea, data["reason"], data["explanation"]))


@blp.post("/ideas/<int:idea_id>/answer")
@login_required
@blp.arguments(schemas.AnswerSchema)
@blp.response(200, schemas.IdeaSchema)
@blp.errors(401, 403, 404, 409, 422)
def answer_idea(data, idea_id: int):
    """The official answer (moderators): evaluating, accepted or rejected."""
    idea = services.get_idea(idea_id, _viewer())
    return _idea(services.answer_idea(_viewer(), idea, data["state"], data["answer"]))


def _tally(idea) -> dict:
    return presenters.idea_tally(idea, _viewer())


# Votes read first (the token, the idea, the checks) and write after, in a short transaction of their own:
# `reads_first` here, `end_reading()` in the service (see coopol/core/database.py).
@blp.put("/ideas/<int:idea_id>/vote")
@reads_first
@login_required
@blp.arguments(schemas.VoteSchema)
@blp.response(200, schemas.TallySchema)
@blp.errors(401, 403, 404, 409, 422)
def vote(data, idea_id: int):
    """Support or oppose; voting again changes the vote."""
    idea = services.get_idea(idea_id, _viewer())
    outcome = services.cast_vote(_viewer(), idea, data["value"])
    return presenters.tally_view(idea, outcome.tallies, outcome.value)


@blp.delete("/ideas/<int:idea_id>/vote")
@reads_first
@login_required
@blp.response(200, schemas.TallySchema)
@blp.errors(401, 403, 404, 409)
def withdraw_vote(idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    outcome = services.withdraw_vote(_viewer(), idea)
    return presenters.tally_view(idea, outcome.tallies, outcome.value)


@blp.get("/ideas/<int:idea_id>/revisions")
@blp.response(200, schemas.RevisionListSchema)
@blp.errors(404)
def revisions(idea_id: int):
    """Every kept version, oldest first (empty until the idea was edited after others took part)."""
    idea = services.get_idea(idea_id, _viewer())
    if not presenters.content_visible(idea, _viewer()):
        return {"items": [], "next_cursor": None}
    items = [{"number": r.number, "title": r.title, "body": r.body, "tags": r.tags.split(), "scope": r.scope,
              "editor": presenters.author_view(r.editor) if r.editor else None, "created_at": r.created_at}
             for r in services.list_revisions(idea)]
    return {"items": items, "next_cursor": None}


@blp.get("/ideas/<int:idea_id>/comments")
@blp.arguments(schemas.CommentListQuerySchema, location="query")
@blp.response(200, schemas.CommentListSchema)
@blp.errors(404, 422)
def list_comments(args, idea_id: int):
    """Comments in tree order, paginated by top-level comment."""
    idea = services.get_idea(idea_id, _viewer())
    page = queries.list_comments(idea, cursor=args["cursor"], limit=args["limit"])
    return {"items": presenters.comment_views(page.comments, _viewer()), "next_cursor": page.next_cursor}


@blp.post("/ideas/<int:idea_id>/comments")
@login_required
@blp.arguments(schemas.CommentCreateSchema)
@blp.response(201, schemas.CommentSchema)
@blp.errors(401, 403, 404, 409, 422)
def post_comment(data, idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    comment = services.post_comment(_viewer(), idea, **data)
    return presenters.comment_view(comment, _viewer())


@blp.get("/comments/<int:comment_id>")
@blp.response(200, schemas.CommentSchema)
@blp.errors(404)
def get_comment(comment_id: int):
    comment = services.get_comment(comment_id, _viewer())
    return presenters.comment_views([comment], _viewer())[0]


@blp.patch("/comments/<int:comment_id>")
@login_required
@blp.arguments(schemas.CommentUpdateSchema)
@blp.response(200, schemas.CommentSchema)
@blp.errors(401, 403, 404, 409, 422)
def edit_comment(data, comment_id: int):
    comment = services.get_comment(comment_id, _viewer())
    services.edit_comment(_viewer(), comment, **data)
    return presenters.comment_views([comment], _viewer())[0]


@blp.delete("/comments/<int:comment_id>")
@login_required
@blp.response(200, schemas.CommentSchema)
@blp.errors(401, 403, 404, 409)
def delete_comment(comment_id: int):
    """Soft delete: the thread stays, the text goes."""
    comment = services.get_comment(comment_id, _viewer())
    services.delete_comment(_viewer(), comment)
    return presenters.comment_view(comment, _viewer())


@blp.put("/comments/<int:comment_id>/vote")
@login_required
@blp.arguments(schemas.CommentVoteSchema)
@blp.response(200, schemas.CommentSchema)
@blp.errors(401, 403, 404, 409, 422)
def vote_comment(data, comment_id: int):
    """Up or down; the same value again withdraws the vote."""
    comment = services.get_comment(comment_id, _viewer())
    services.cast_comment_vote(_viewer(), comment, data["value"])
    return presenters.comment_views([comment], _viewer())[0]


@blp.delete("/comments/<int:comment_id>/vote")
@login_required
@blp.response(200, schemas.CommentSchema)
@blp.errors(401, 403, 404, 409)
def withdraw_comment_vote(comment_id: int):
    comment = services.get_comment(comment_id, _viewer())
    services.withdraw_comment_vote(_viewer(), comment)
    return presenters.comment_views([comment], _viewer())[0]


@blp.get("/members/<handle>")
@blp.response(200, schemas.MemberProfileSchema)
@blp.errors(404)
def member_profile(handle: str):
    """A member's public profile: `alice` here, `alice@ally.example` for a member of an ally known here."""
    member = get_member_by_reference(handle)
    ideas = db.session.scalar(select(func.count(Idea.id)).where(
        Idea.author_id == member.id, Idea.state != IdeaState.DRAFT, Idea.removed_at.is_(None),
        Idea.hidden_at.is_(None))) or 0
    return {**member_view(member), "follower_count": 0, "following_count": 0, **profile_counts(member),
            "idea_count": ideas}


@blp.get("/stats")
@blp.response(200, schemas.StatsSchema)
def stats():
    """Participation: members, ideas, comments and votes, by instance and by month."""
    return participation_stats()
