"""What an inbox handler may say about an activity besides applying it: a leaf module shared by the inbox
and the handlers, so that neither imports the other for it."""

from __future__ import annotations


class NotApplied(Exception):
    """The activity is acknowledged and changes nothing (a kind or a case we do not support, not ours to
    apply, already applied): the inbox records it `ignored`, with this reason. `keep`: what the handler
    wrote meanwhile stays (a vote clock that moved, though no vote changed); otherwise it is rolled back."""

    def __init__(self, reason: str, *, keep: bool = False) -> None:
        super().__init__(reason)
        self.keep = keep
