"""Guild: a local collaboration marketplace where small firms win tenders together."""

import logging
import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from marketplace.config import Defaults

ROOT = Path(__file__).resolve().parent.parent


class ConfigurationError(RuntimeError):
    """The app refuses to start with an unsafe or incomplete configuration."""


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("GUILD_INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_relative_config=True,
    )
    _load_config(app, test_config)
    _configure_logging(app)

    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1)

    from marketplace import database, errors, extensions, security, templating

    extensions.init_app(app)
    database.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)

    from marketplace import markdown

    markdown.init_app(app)

    from marketplace import mail

    mail.init_app(app)

    from marketplace.admin import bp as admin_bp
    from marketplace.alliances import bp as alliances_bp
    from marketplace.api import bp as api_bp
    from marketplace.api import ocds_bp, tokens_bp
    from marketplace.auth import bp as auth_bp
    from marketplace.bids import bp as bids_bp
    from marketplace.inbox import bp as inbox_bp
    from marketplace.main import bp as main_bp
    from marketplace.orgs import bp as orgs_bp
    from marketplace.profiles import bp as profiles_bp
    from marketplace.projects import bp as projects_bp
    from marketplace.search.views import bp as search_bp
    from marketplace.tenders import bp as tenders_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(orgs_bp)
    app.register_blueprint(profiles_bp)
    app.register_blueprint(alliances_bp)
    app.register_blueprint(projects_bp)
    app.register_blueprint(tenders_bp)
    app.register_blueprint(bids_bp)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ocds_bp)
    app.register_blueprint(tokens_bp)

    from marketplace import cli

    cli.init_app(app)
    return app


def _load_config(app: Flask, test_config: dict | None) -> None:
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for name in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL", "GUILD_ENV", "MAIL_SERVER",
                 "DEMO_PASSWORD"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if os.environ.get("TRUSTED_HOSTS"):
        app.config["TRUSTED_HOSTS"] = [
            h.strip() for h in os.environ["TRUSTED_HOSTS"].split(",") if h.strip()]
    app.config.from_prefixed_env()
    if test_config:
        app.config.update(test_config)

    if app.config.get("DATABASE_URL") and not (test_config or {}).get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["DATABASE_URL"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        sqlite_path = Path(app.instance_path) / "guild.sqlite"
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{sqlite_path}"
    app.config.setdefault("SEARCH_INDEX_DIR", None)
    app.config["SEARCH_INDEX_DIR"] = app.config["SEARCH_INDEX_DIR"] or str(
        Path(app.instance_path) / "search-index")
    app.config["UPLOAD_DIR"] = app.config["UPLOAD_DIR"] or str(Path(app.instance_path) / "uploads")
    if not app.config["RATELIMIT_STORAGE_URI"]:
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"] or "memory://"

    production = app.config["GUILD_ENV"] == "production"
    if production:
        if not app.config.get("SECRET_KEY"):
            raise ConfigurationError("SECRET_KEY must be set in the environment in production.")
        if not app.config.get("TRUSTED_HOSTS"):
            # E-mailed reset and invitation links are built from the request's Host header;
            # an untrusted Host would send single-use tokens to another site.
            raise ConfigurationError(
                "TRUSTED_HOSTS must list the site's host names in production, "
                "e.g. TRUSTED_HOSTS=guild.example.org")
        if app.config.get("TEST_CLOCK_OFFSET_ENABLED"):
            raise ConfigurationError("TEST_CLOCK_OFFSET_ENABLED is for browser tests only.")
        if app.config.get("FAULT_POINTS"):
            raise ConfigurationError("FAULT_POINTS are for crash-safety tests only.")
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
        app.config["PREFERRED_URL_SCHEME"] = "https"
    elif not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _local_secret_key(Path(app.instance_path))


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs say postgres://; SQLAlchemy wants a dialect+driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _local_secret_key(instance: Path) -> str:
    """A per-install key kept in the instance folder, for development and the demo only."""
    path = instance / "secret_key"
    if not path.exists():
        # Several gunicorn workers may start at once: write aside, then link, so that
        # exactly one key wins and nobody reads a half-written file.
        tmp = instance / f".secret_key.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def _configure_logging(app: Flask) -> None:
    from marketplace.logging_utils import configure

    configure(app)
    logging.getLogger("marketplace").setLevel(app.config.get("LOG_LEVEL", "INFO"))
