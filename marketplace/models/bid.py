"""Bids: one party (an organisation or an alliance), its members with work shares, and the
immutable versions every member organisation approves.

Two rules are enforced by the database itself, portably (SQLite and PostgreSQL):

* **One live bid per party per tender.** ``live_key`` names the party (``org:12`` or
  ``alliance:3``) while the bid is live and is NULL once withdrawn; ``UNIQUE (tender_id,
  live_key)`` then admits any number of withdrawn bids (NULLs are distinct in both
  databases) but only one live one. An *invalidated* bid stays live: the tender's terms
  changed, and its party re-approves it as a new version rather than starting another bid.
  A CHECK ties the key to the state, so code can never forget to clear or set it.
* **At most one award per tender.** ``award_flag`` is TRUE for the awarded bid and NULL for
  every other; ``UNIQUE (tender_id, award_flag)``, with a CHECK tying it to the state.

Plain columns and constraints rather than partial indexes, so the rule reads the same in
both dialects, in Alembic autogenerate, and in a dump.
"""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Enum,
    ForeignKey,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, utcnow


class BidState(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    SUBMITTED = "submitted"
    OPENED = "opened"
    SHORTLISTED = "shortlisted"
    DISQUALIFIED = "disqualified"
    AWARDED = "awarded"
    NOT_AWARDED = "not_awarded"
    WITHDRAWN = "withdrawn"
    INVALIDATED = "invalidated"


# Before the deadline the lead may still change these; afterwards nothing changes them but
# the buyer's evaluation.
EDITABLE_STATES = frozenset({BidState.DRAFT, BidState.AWAITING_APPROVAL, BidState.SUBMITTED,
                             BidState.INVALIDATED})
# Bids the buyer sees once the deadline has passed.
OPENED_STATES = frozenset({BidState.SUBMITTED, BidState.OPENED, BidState.SHORTLISTED,
                           BidState.DISQUALIFIED, BidState.AWARDED, BidState.NOT_AWARDED})


class BidRole(enum.StrEnum):
    LEAD = "lead"
    MEMBER = "member"
    SUBCONTRACTOR = "subcontractor"


def _enum(cls, name: str) -> Enum:
    return Enum(cls, name=name, native_enum=False, length=20,
                values_callable=lambda e: [m.value for m in e])


class Bid(Base):
    __tablename__ = "bids"
    __table_args__ = (
        UniqueConstraint("tender_id", "live_key", name="uq_bids_one_live_per_party"),
        UniqueConstraint("tender_id", "award_flag", name="uq_bids_one_award_per_tender"),
        CheckConstraint("(party_org_id IS NULL) <> (party_alliance_id IS NULL)",
                        name="one_party"),
        CheckConstraint("(state = 'withdrawn' AND live_key IS NULL) OR "
                        "(state <> 'withdrawn' AND live_key IS NOT NULL)",
                        name="live_key_matches_state"),
        CheckConstraint("(state = 'awarded' AND award_flag IS NOT NULL) OR "
                        "(state <> 'awarded' AND award_flag IS NULL)",
                        name="award_flag_matches_state"),
        CheckConstraint("price IS NULL OR price >= 0", name="price_not_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id"), index=True)
    party_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    party_alliance_id: Mapped[int | None] = mapped_column(ForeignKey("alliances.id"))
    lead_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    state: Mapped[BidState] = mapped_column(_enum(BidState, "bid_state"),
                                            default=BidState.DRAFT, index=True)
    # The version members approve; every edit adds one (see BidVersion).
    version: Mapped[int] = mapped_column(default=1)
    price: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    proposal: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str | None] = mapped_column(String(64))
    live_key: Mapped[str | None] = mapped_column(String(40))
    award_flag: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    disqualification_reason: Mapped[str | None] = mapped_column(String(1000))

    tender: Mapped["Tender"] = relationship()  # noqa: F821
    party_org: Mapped["Organisation | None"] = relationship(  # noqa: F821
        foreign_keys=[party_org_id])
    party_alliance: Mapped["Alliance | None"] = relationship()  # noqa: F821
    lead_org: Mapped["Organisation"] = relationship(foreign_keys=[lead_org_id])  # noqa: F821
    members: Mapped[list["BidMember"]] = relationship(
        back_populates="bid", cascade="all, delete-orphan", order_by="BidMember.id")
    documents: Mapped[list["BidDocument"]] = relationship(
        back_populates="bid", cascade="all, delete-orphan", order_by="BidDocument.id")

    @property
    def party_key(self) -> str:
        if self.party_alliance_id is not None:
            return f"alliance:{self.party_alliance_id}"
        return f"org:{self.party_org_id}"

    @property
    def is_joint(self) -> bool:
        return len(self.members) > 1

    @property
    def live_documents(self) -> list["BidDocument"]:
        return [d for d in self.documents if d.removed_at is None]


class BidMember(Base):
    __tablename__ = "bid_members"
    __table_args__ = (
        UniqueConstraint("bid_id", "organisation_id"),
        CheckConstraint("work_share >= 0 AND work_share <= 100", name="work_share_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[BidRole] = mapped_column(_enum(BidRole, "bid_role"))
    work_share: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))

    bid: Mapped[Bid] = relationship(back_populates="members")
    organisation: Mapped["Organisation"] = relationship()  # noqa: F821


class BidVersion(Base):
    """The exact content of one version, frozen: what members approved and what was hashed."""

    __tablename__ = "bid_versions"
    __table_args__ = (UniqueConstraint("bid_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    content: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))


class BidApproval(Base):
    """One member organisation's approval of one version; never changed, never deleted."""

    __tablename__ = "bid_approvals"
    __table_args__ = (UniqueConstraint("bid_id", "version", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    approved_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    content_hash: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped["Organisation"] = relationship()  # noqa: F821
    approved_by: Mapped["User | None"] = relationship()  # noqa: F821


class BidDocument(Base):
    __tablename__ = "bid_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))  # as shown; sealed like the rest
    stored_name: Mapped[str] = mapped_column(String(200))  # generated, never user input
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    # Removing a document is an edit (a new version); the row stays for older versions.
    removed_at: Mapped[datetime | None]

    bid: Mapped[Bid] = relationship(back_populates="documents")


class FrozenRowChanged(Exception):
    pass


@event.listens_for(BidVersion, "before_update")
@event.listens_for(BidVersion, "before_delete")
@event.listens_for(BidApproval, "before_update")
@event.listens_for(BidApproval, "before_delete")
def _refuse_changes(_mapper, _connection, target) -> None:
    raise FrozenRowChanged(f"{type(target).__name__} {target.id} is immutable")
