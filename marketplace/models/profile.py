"""Capability profiles: what an organisation can do, where, and with which credentials."""

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, utcnow


class SizeBand(enum.StrEnum):
    """The OCDS scale codelist."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class CpvCode(Base):
    """The EU Common Procurement Vocabulary (2008), loaded from package data."""

    __tablename__ = "cpv_codes"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    label: Mapped[str] = mapped_column(String(400))
    # 2 = division, 3 = group, 4 = class, 5-8 = category and finer.
    level: Mapped[int]
    parent_code: Mapped[str | None] = mapped_column(String(8), index=True)


class Profile(Base):
    __tablename__ = "profiles"
    __table_args__ = (
        CheckConstraint("service_radius_km IS NULL OR service_radius_km BETWEEN 0 AND 1000",
                        name="service_radius_range"),
        CheckConstraint("employees IS NULL OR employees >= 0", name="employees_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown, sanitised on render
    size: Mapped[SizeBand | None] = mapped_column(
        Enum(SizeBand, name="size_band", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]))
    employees: Mapped[int | None]
    year_founded: Mapped[int | None]
    website: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(120))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    town: Mapped[str | None] = mapped_column(String(120), index=True)
    postcode: Mapped[str | None] = mapped_column(String(12))
    region: Mapped[str | None] = mapped_column(String(120))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    service_radius_km: Mapped[int | None]
    logo_filename: Mapped[str | None] = mapped_column(String(80))
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Optimistic locking: a save based on an older version is refused (409).
    version: Mapped[int] = mapped_column(default=1)

    organisation: Mapped["Organisation"] = relationship(  # noqa: F821
        back_populates="profile")
    capabilities: Mapped[list["ProfileCapability"]] = relationship(
        cascade="all, delete-orphan", order_by="ProfileCapability.tag")
    cpv_codes: Mapped[list["ProfileCpvCode"]] = relationship(
        cascade="all, delete-orphan", order_by="ProfileCpvCode.code")
    certifications: Mapped[list["Certification"]] = relationship(
        cascade="all, delete-orphan", order_by="Certification.name")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class ProfileCapability(Base):
    __tablename__ = "profile_capabilities"
    __table_args__ = (UniqueConstraint("profile_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(60), index=True)


class ProfileCpvCode(Base):
    __tablename__ = "profile_cpv_codes"
    __table_args__ = (UniqueConstraint("profile_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(8), index=True)


class Certification(Base):
    __tablename__ = "certifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(120))
    issuer: Mapped[str | None] = mapped_column(String(120))
    number: Mapped[str | None] = mapped_column(String(80))
    valid_until: Mapped[date | None]

    def is_valid_on(self, day: date) -> bool:
        return self.valid_until is None or self.valid_until >= day


Index("ix_profile_cpv_codes_profile", ProfileCpvCode.profile_id)
Index("ix_profile_capabilities_profile", ProfileCapability.profile_id)
