"""Words for moderation's stored values (report reasons and statuses, actions, target types, appeal
states) and the public log's sentences about a target that cannot be linked."""

from flask_babel import lazy_gettext as _l

from coopol.core.labels import define_labels, label  # noqa: F401  (import label from here: the tables are then defined)

REPORT_REASONS = define_labels("report_reason", {
    "spam": _l("Spam"), "offensive": _l("Offensive"), "off_topic": _l("Off topic"), "illegal": _l("Illegal"),
    "other": _l("Other"),
})
REPORT_STATUSES = define_labels("report_status", {
    "open": _l("open"), "dismissed": _l("dismissed"), "actioned": _l("acted upon"),
})
# The action menu of the moderation forms.
ACTION_CHOICES = define_labels("action_choice", {
    "dismiss": _l("Dismiss the reports"), "hide": _l("Hide"), "unhide": _l("Unhide"), "remove": _l("Remove"),
    "restore": _l("Restore (undo a removal)"), "lock": _l("Lock the thread"), "unlock": _l("Unlock the thread"),
    "pin": _l("Pin / feature"), "unpin": _l("Unpin"), "answer": _l("Official answer"),
    "suspend": _l("Suspend"), "unsuspend": _l("Lift the suspension"), "ban": _l("Ban"), "unban": _l("Lift the ban"),
})
# A decision as the queue, the review page and the public log name it.
ACTIONS = define_labels("action", {
    "dismiss": _l("Reports dismissed"), "hide": _l("Hidden"), "unhide": _l("Made visible again"),
    "remove": _l("Removed"), "restore": _l("Restored"), "lock": _l("Thread locked"),
    "unlock": _l("Thread unlocked"), "pin": _l("Pinned"), "unpin": _l("Unpinned"),
    "answer": _l("Official answer"), "suspend": _l("Suspended"), "unsuspend": _l("Suspension lifted"),
    "ban": _l("Banned"), "unban": _l("Ban lifted"),
    "appeal_upheld": _l("Appeal rejected, decision upheld"),
    "appeal_reversed": _l("Appeal granted, decision reversed"),
    "group_member_removed": _l("Removed from the group by an organiser"),
})
TARGET_TYPES = define_labels("target_type", {"idea": _l("Idea"), "comment": _l("Comment"), "member": _l("Member"),
                                             "group": _l("Group"), "event": _l("Gathering")})
APPEAL_STATUSES = define_labels("appeal_status", {
    "pending": _l("pending"), "upheld": _l("upheld"), "reversed": _l("reversed"),
})
# The public log's notice instead of a link, by target type.
REMOVED_NOTICES = define_labels("removed_notice", {
    "idea": _l("This idea was removed by a moderator."), "comment": _l("This comment was removed by a moderator."),
    "group": _l("This group was removed by a moderator."),
    "event": _l("This gathering was removed by a moderator."),
})
HIDDEN_NOTICES = define_labels("hidden_notice", {
    "idea": _l("This idea is hidden pending review."), "comment": _l("This comment is hidden pending review."),
    "group": _l("This group is hidden pending review."),
    "event": _l("This gathering is hidden pending review."),
})
FIELDS = define_labels("field", {
    "action": _l("Action"), "target_type": _l("Target"), "target_id": _l("Target"), "reason": _l("Reason"),
    "text": _l("Text"), "until": _l("Until"), "decision": _l("Decision"),
})
# Notifications: what a decision is about, and what the moderator did.
YOUR_TARGETS = define_labels("your_target", {
    "idea": _l("your idea “%(label)s”"), "comment": _l("your comment “%(label)s”"), "member": _l("your account"),
    "group": _l("your group “%(label)s”"),
    "event": _l("your gathering “%(label)s”"),
})
YOUR_TARGETS_CAPITAL = define_labels("your_target_capital", {
    "idea": _l("Your idea “%(label)s”"), "comment": _l("Your comment “%(label)s”"), "member": _l("Your account"),
    "group": _l("Your group “%(label)s”"),
    "event": _l("Your gathering “%(label)s”"),
})
# One whole sentence per decision: word order differs between languages.
DECISIONS_ON_YOURS = define_labels("decision_on_yours", {
    "hide": _l("A moderator hid %(what)s."), "unhide": _l("A moderator made %(what)s visible again."),
    "remove": _l("A moderator removed %(what)s."), "restore": _l("A moderator restored %(what)s."),
    "lock": _l("A moderator locked %(what)s."), "unlock": _l("A moderator unlocked %(what)s."),
    "pin": _l("A moderator pinned %(what)s."), "unpin": _l("A moderator unpinned %(what)s."),
    "suspend": _l("A moderator suspended %(what)s."), "unsuspend": _l("A moderator lifted the suspension of %(what)s."),
    "ban": _l("A moderator banned %(what)s."), "unban": _l("A moderator lifted the ban on %(what)s."),
    "answer": _l("A moderator answered %(what)s."),
})
# "several members reported it as spam (2), off-topic (1)"
REASON_WORDS = define_labels("reason_word", {
    "spam": _l("spam"), "offensive": _l("offensive"), "off_topic": _l("off-topic"), "illegal": _l("illegal"),
    "other": _l("another reason"),
})
