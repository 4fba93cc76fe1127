"""Configuration defaults.

Layering (flaskr style): these defaults, then ``instance/config.py`` if present, then
environment variables (``DATABASE_URL``, ``SECRET_KEY``, ``REDIS_URL``, ``GUILD_ENV`` and any
``FLASK_*``), then the mapping a test passes to ``create_app``. Secrets never live here.
"""

from datetime import timedelta


class Defaults:
    # "development" (make run, local), "production" (secure cookies, HSTS, SECRET_KEY required)
    # or "test". Flask dropped FLASK_ENV, so the deployment kind has a name of its own.
    GUILD_ENV = "development"

    SQLALCHEMY_DATABASE_URI = None  # default: sqlite file in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = 15_000

    SECRET_KEY = None
    REDIS_URL = None

    # Sessions: hours, not Flask's 31 days; remember-me for at most 30 days.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "guild_session"
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_NAME = "guild_remember"
    SESSION_PROTECTION = "basic"

    # Request limits (413 beyond them).
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    MAX_FORM_PARTS = 1000

    WTF_CSRF_TIME_LIMIT = 8 * 3600

    # Password hashing: argon2-cffi defaults (Argon2id, RFC 9106 low-memory profile).
    # Tests lower the cost through PASSWORD_HASH_PARAMS to keep the suite fast.
    PASSWORD_HASH_PARAMS: dict = {}
    PASSWORD_MIN_LENGTH = 12
    PASSWORD_MAX_LENGTH = 128

    # Login throttling: per address through Flask-Limiter (Redis in production) and
    # per account in the database.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = None  # derived from REDIS_URL, else in-memory
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_LIMIT_PER_ADDRESS = "20 per minute;200 per hour"
    LOGIN_LIMIT_PER_ACCOUNT = "10 per minute"
    ACCOUNT_LOCK_THRESHOLD = 5
    ACCOUNT_LOCK_MAX_MINUTES = 60

    RESET_TOKEN_TTL = timedelta(hours=1)
    ORG_INVITATION_TTL = timedelta(days=14)

    # Mail: SMTP when MAIL_SERVER is set; otherwise mail is logged and kept in the outbox.
    MAIL_SERVER = None
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "Guild <no-reply@guild.localhost>"
    MAIL_DELIVER_AFTER_REQUEST = True

    # Behind a reverse proxy, set to the number of trusted proxies.
    PROXY_FIX_X_FOR = 0
    # Host names the site answers to (400 for any other Host header). Required in production,
    # where e-mailed links are built from the Host. Environment: TRUSTED_HOSTS=a.org,b.org.
    TRUSTED_HOSTS: list | None = None

    SEARCH_INDEX_DIR = None  # default: instance/search-index
    UPLOAD_DIR = None  # default: instance/uploads

    DEMO_PASSWORD = None

    # Crash-safety tests only (marketplace/faults.py); refused in production.
    FAULT_POINTS: tuple = ()
    SERVER_TIMEZONE_DISPLAY = "Europe/London"
