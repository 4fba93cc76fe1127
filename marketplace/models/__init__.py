"""All models, one module per aggregate. Importing this package registers every table."""

from marketplace.models.activity import ActivityEvent, ActivityKind
from marketplace.models.alliance import (
    Alliance,
    AllianceInvitation,
    AllianceMember,
    AllianceRole,
)
from marketplace.models.api_token import ApiToken, TokenScope
from marketplace.models.audit import AuditEvent, AuditTrailIsAppendOnly
from marketplace.models.base import Base, UTCDateTime, utcnow
from marketplace.models.bid import (
    Bid,
    BidApproval,
    BidDocument,
    BidMember,
    BidRole,
    BidState,
    BidVersion,
)
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
from marketplace.models.project import (
    CreditStatus,
    ProjectCredit,
    ProjectExample,
    ProjectPhoto,
)
from marketplace.models.search import AlertMatch, AlertScan, SavedSearch, SearchOutbox
from marketplace.models.tender import (
    Clarification,
    RequirementKind,
    TeamingKind,
    TeamingPost,
    Tender,
    TenderCpvCode,
    TenderDocument,
    TenderReminder,
    TenderRequirement,
    TenderStatus,
)
from marketplace.models.user import PasswordResetToken, User

__all__ = [
    "ActivityEvent",
    "ActivityKind",
    "AlertMatch",
    "AlertScan",
    "Alliance",
    "AllianceInvitation",
    "AllianceMember",
    "AllianceRole",
    "ApiToken",
    "AuditEvent",
    "AuditTrailIsAppendOnly",
    "Base",
    "Bid",
    "BidApproval",
    "BidDocument",
    "BidMember",
    "BidRole",
    "BidState",
    "BidVersion",
    "Certification",
    "Clarification",
    "CpvCode",
    "CreditStatus",
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
    "ProjectCredit",
    "ProjectExample",
    "ProjectPhoto",
    "RequirementKind",
    "SavedSearch",
    "SearchOutbox",
    "SizeBand",
    "TeamingKind",
    "TeamingPost",
    "Tender",
    "TenderCpvCode",
    "TenderDocument",
    "TenderReminder",
    "TenderRequirement",
    "TenderStatus",
    "TokenScope",
    "UTCDateTime",
    "User",
    "utcnow",
]
