"""Bulk import of business directories and tender notices (``flask import ...``, /admin/import).

The importers need an application context for the database session, and nothing else from
Flask: no request, no click. Callers pass a binary file object and get an ``ImportReport``.
"""

from marketplace.importers.organisations import import_organisations
from marketplace.importers.report import ImportReport, Problem
from marketplace.importers.tenders import import_tenders

IMPORTERS = {"organisations": import_organisations, "tenders": import_tenders}

__all__ = ["IMPORTERS", "ImportReport", "Problem", "import_organisations", "import_tenders"]
