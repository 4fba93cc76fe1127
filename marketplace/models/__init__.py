"""All models, one module per aggregate. Importing this package registers every table."""

from marketplace.models.alliance import (
    Alliance,
    AllianceInvitation,
    AllianceMember,
    AllianceRole,
)
from marketplace.models.audit import AuditEvent, AuditTrailIsAppendOnly
from marketplace.models.base import Base, UTCDateTime, utcnow
from marketplace.models.mail import EmailMessage, MailStatus
from marketplace.models.notification import Notification
from marketplace.models.organisation import Membership, Organisation, OrgInvitation, OrgRole
from marketplace.models.profile import (
    Certification,
    CpvCode,
    Profile,
    ProfileCapability,
    ProfileCpvCode,
    SizeBand,
)
from marketplace.models.search import SearchOutbox
from marketplace.models.tender import Tender, TenderCpvCode, TenderStatus
from marketplace.models.user import PasswordResetToken, User

__all__ = [
    "Alliance",
    "AllianceInvitation",
    "AllianceMember",
    "AllianceRole",
    "AuditEvent",
    "AuditTrailIsAppendOnly",
    "Base",
    "Certification",
    "CpvCode",
    "EmailMessage",
    "MailStatus",
    "Membership",
    "Notification",
    "OrgInvitation",
    "OrgRole",
    "Organisation",
    "PasswordResetToken",
    "Profile",
    "ProfileCapability",
    "ProfileCpvCode",
    "SearchOutbox",
    "SizeBand",
    "Tender",
    "TenderCpvCode",
    "TenderStatus",
    "UTCDateTime",
    "User",
    "utcnow",
]
