from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coopol.core.time import UTCDateTime, utcnow
from coopol.extensions import db


class Role(enum.StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


class Status(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    BANNED = "banned"


# Words shown on pages for these values: coopol/accounts/labels.py.


class Member(db.Model):
    """A person taking part. Local members have an e-mail and a password; remote persons (members of
    allied instances, known through federation) have an `ap_id` and a `host` and neither."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Local handles are bare ("alice"); remote ones carry their host ("alice@ally.example").
    handle: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # When the member proved they read `email` (coopol/mail); cleared when the address changes.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER.value)
    status: Mapped[str] = mapped_column(String(16), default=Status.ACTIVE.value)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locale: Mapped[str | None] = mapped_column(String(8))
    # Rotated to end every session of the member at once (logout everywhere, erasure, ban).
    session_token: Mapped[str] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="member", cascade="all, delete-orphan")

    @property
    def is_local(self) -> bool:
        return self.host is None

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def is_restricted(self, now: datetime | None = None) -> bool:
        """Banned, or suspended and the suspension has not run out."""
        if self.status == Status.BANNED:
            return True
        if self.status == Status.SUSPENDED:
            return self.suspended_until is None or self.suspended_until > (now or utcnow())
        return False

    @property
    def name(self) -> str:
        if self.is_erased:
            return _("deleted member")
        return self.display_name or self.handle

    # Flask-Login protocol. The session id embeds the rotating token so sessions can be revoked.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.is_local and not self.is_erased and not self.is_restricted()

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<Member {self.handle}>"


class ApiToken(db.Model):
    """A personal API token. Only its SHA-256 is stored: the token is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    member: Mapped[Member] = relationship(back_populates="tokens")


class Invitation(db.Model):
    """Invite-only instances hand out single-use codes (stored hashed)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_members_created_at", Member.created_at)
