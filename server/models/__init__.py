"""All models, imported here so Alembic and the app see one complete metadata."""
from server.models.accounts import ROLES, ApiKey, DeviceToken, User
from server.models.aggregates import HamletMonth, HamletServiceMonth, MonthApproval
from server.models.audit import AuditEntry, ChangeCounter
from server.models.catalogue import Service
from server.models.coverage import (Campaign, CampaignHamlet, CampaignHamletService, HamletDay, HamletServiceDay, HouseholdDay, SubjectDay, Target)  # noqa: F401,E501
from server.models.imports import RegistryImported, RegistryImportTask  # noqa: F401
from server.models.media import PHOTO_STATES, Photo
from server.models.people import CONSENT_PURPOSES, SEXES, Household, Resident
from server.models.reports import REPORT_STATES, MonthApprovalSnapshot, ReportTask  # noqa: F401,E501
from server.models.scope import EXIT_KINDS, ScopeExit  # noqa: F401
from server.models.units import HAMLET_KINDS, Commune, Hamlet, Province, Team, team_hamlets
from server.models.visits import (OUTCOMES, REACHED_OUTCOMES, RESULTS, REVIEW_STATES, FollowUp,
                                  Visit, VisitService)

__all__ = [
    "ROLES", "ApiKey", "DeviceToken", "User", "HamletMonth", "HamletServiceMonth",
    "MonthApproval", "AuditEntry", "ChangeCounter", "Service", "PHOTO_STATES", "Photo",
    "CONSENT_PURPOSES", "SEXES", "Household", "Resident", "HAMLET_KINDS", "Commune", "Hamlet",
    "Province", "Team", "team_hamlets", "OUTCOMES", "REACHED_OUTCOMES", "RESULTS", "REVIEW_STATES",
    "FollowUp",
    "Visit", "VisitService",
]
