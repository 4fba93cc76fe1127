"""Search: the Whoosh engine (schema, documents, index, query, matching), the pipeline
(indexer, service) and the search pages.

The pages' blueprint is defined here, but its views are imported by the app factory
(``marketplace.search.views``), not at the bottom of this file, so that the engine modules
stay importable without Flask views (bench scripts, the indexer worker).
"""

from flask import Blueprint

bp = Blueprint("search", __name__)
