"""Stored bridging scores: one row per ranked idea (replaced as a whole by each fit), one row per fit, and the
co-voting clusters moderators review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from coopol.core.time import UTCDateTime, utcnow
from coopol.extensions import db


class IdeaBridging(db.Model):
    """An idea's place in `sort=bridging`; ideas with fewer than `BRIDGING_MIN_VOTES` votes have none."""

    __tablename__ = "idea_bridging"
    __table_args__ = (Index("ix_idea_bridging_sort", "score", "idea_id"),)

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)  # √(support × consensus), see model.py
    intercept: Mapped[float] = mapped_column(Float)  # the idea's intercept: support once the divide is explained
    factor: Mapped[float] = mapped_column(Float)  # where the idea sits on the main divide
    support: Mapped[float] = mapped_column(Float)  # clip(μ + intercept, 0, 1)
    consensus: Mapped[float] = mapped_column(Float)  # geometric mean over parties of (support + 1) / (votes + 2)
    votes: Mapped[int] = mapped_column(Integer)
    parties: Mapped[int] = mapped_column(Integer)  # parties whose voters mostly support it
    party_support: Mapped[dict] = mapped_column(JSON)  # {host: [support, votes]}
    sides: Mapped[list] = mapped_column(JSON)  # [[support, votes] positive side, [support, votes] negative side]
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BridgingFit(db.Model):
    """When the model was fitted, on how much, and how long it took (the worker's schedule reads the last)."""

    __tablename__ = "bridging_fits"

    id: Mapped[int] = mapped_column(primary_key=True)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    seconds: Mapped[float] = mapped_column(Float)
    votes: Mapped[int] = mapped_column(Integer)
    members: Mapped[int] = mapped_column(Integer)
    ideas: Mapped[int] = mapped_column(Integer)
    parties: Mapped[int] = mapped_column(Integer)
    ranked: Mapped[int] = mapped_column(Integer)
    iterations: Mapped[int] = mapped_column(Integer)
    mu: Mapped[float] = mapped_column(Float)


class VoteCluster(db.Model):
    """Accounts that repeatedly vote on the same ideas within minutes (covoting.py), for moderators to look at."""

    __tablename__ = "vote_clusters"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of its member ids: the same group, the same row
    members: Mapped[list] = mapped_column(JSON)  # member ids, ascending
    size: Mapped[int] = mapped_column(Integer)
    pairs: Mapped[int] = mapped_column(Integer)
    strongest: Mapped[float] = mapped_column(Float)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
