"""Words for the ideas module's stored values: states, stances, sorts, votes, withdrawal reasons."""

from flask_babel import lazy_gettext as _l

from coopol.core.labels import define_labels, label  # noqa: F401  (import label from here: the tables are then defined)

IDEA_STATES = define_labels("idea_state", {
    "draft": _l("draft"), "published": _l("published"), "evaluating": _l("evaluating"),
    "accepted": _l("accepted"), "rejected": _l("rejected"), "withdrawn": _l("withdrawn"),
})
STANCES = define_labels("stance", {"for": _l("for"), "against": _l("against"), "neutral": _l("neutral")})
SORTS = define_labels("sort", {
    "hot": _l("hot"), "top": _l("top"), "new": _l("new"), "comments": _l("most comments"),
    "controversial": _l("controversial"), "relevance": _l("relevance"),
})
# "Your vote: support" / "Votre vote : soutien"
IDEA_VOTES = define_labels("idea_vote", {"support": _l("support"), "oppose": _l("oppose")})
COMMENT_VOTES = define_labels("comment_vote", {"up": _l("up"), "down": _l("down")})
WITHDRAW_REASONS = define_labels("withdraw_reason", {
    "duplicate": _l("duplicate"), "done": _l("already done"), "unfeasible": _l("unfeasible"),
    "other": _l("other"),
})
FIELDS = define_labels("field", {
    "title": _l("Title"), "body": _l("Description"), "tags": _l("Tags"), "scope": _l("Scope"),
    "language": _l("Language"), "state": _l("State"), "answer": _l("Official answer"), "stance": _l("Your stance"),
    "parent_id": _l("Reply"), "value": _l("Vote"), "reason": _l("Reason"), "explanation": _l("Explanation"),
    "sort": _l("Sort"), "tag": _l("Tag"), "origin": _l("Origin"), "q": _l("Search"),
})
