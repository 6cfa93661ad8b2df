"""Line diffs between revisions, for the history page (rendered by the template, so escaped)."""

from __future__ import annotations

import difflib
from typing import Any


def line_diff(before: str, after: str) -> list[tuple[str, str]]:
    """[(kind, line)] with kind 'same', 'added' or 'removed'."""
    out = []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        code, text = line[:2], line[2:]
        if code == "? ":
            continue
        out.append(({"+ ": "added", "- ": "removed"}.get(code, "same"), text))
    return out


def revision_changes(revisions: list[Any]) -> list[dict[str, Any]]:
    """Each revision with what changed since the one before (newest first)."""
    changes = []
    previous = None
    for revision in revisions:
        entry: dict[str, Any] = {"revision": revision, "title_changed": False, "body": [], "tags_changed": False}
        if previous is not None:
            entry["title_changed"] = previous.title != revision.title
            entry["old_title"] = previous.title
            entry["body"] = line_diff(previous.body, revision.body)
            entry["tags_changed"] = previous.tags != revision.tags
            entry["old_tags"] = previous.tags
        changes.append(entry)
        previous = revision
    return list(reversed(changes))
