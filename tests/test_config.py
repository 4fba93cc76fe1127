"""Configuration: secrets from the environment, production refuses unsafe settings, no
default accounts (SECURITY.md 8), trusted hosts for e-mailed links."""

import os
import stat

import pytest
from sqlalchemy import func, select

from marketplace import ConfigurationError, create_app
from marketplace.models import EmailMessage
from tests.conftest import BASE_CONFIG

SECRET_ENV = ("SECRET_KEY", "FLASK_SECRET_KEY", "TRUSTED_HOSTS", "FLASK_TRUSTED_HOSTS",
              "GUILD_ENV", "FLASK_GUILD_ENV", "DATABASE_URL", "REDIS_URL")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GUILD_INSTANCE_PATH", str(tmp_path / "instance"))
    return monkeypatch


def config(database_url, **extra):
    settings = {k: v for k, v in BASE_CONFIG.items() if k != "SECRET_KEY"}
    return {**settings, "SQLALCHEMY_DATABASE_URI": database_url, **extra}


def test_production_without_secret_key_refuses_to_start(clean_env, database_url):
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(config(database_url, GUILD_ENV="production", TRUSTED_HOSTS=["x.org"]))


def test_production_guild_env_from_the_environment(clean_env, database_url):
    clean_env.setenv("GUILD_ENV", "production")
    settings = config(database_url, TRUSTED_HOSTS=["x.org"])
    del settings["GUILD_ENV"]
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(settings)


def test_production_without_trusted_hosts_refuses_to_start(clean_env, database_url):
    clean_env.setenv("SECRET_KEY", "s" * 64)
    with pytest.raises(ConfigurationError, match="TRUSTED_HOSTS"):
        create_app(config(database_url, GUILD_ENV="production"))


def test_production_takes_secrets_and_hosts_from_the_environment(clean_env, database_url):
    clean_env.setenv("SECRET_KEY", "s" * 64)
    clean_env.setenv("TRUSTED_HOSTS", "guild.example.org, www.guild.example.org")
    app = create_app(config(database_url, GUILD_ENV="production"))
    assert app.config["SECRET_KEY"] == "s" * 64
    assert app.config["TRUSTED_HOSTS"] == ["guild.example.org", "www.guild.example.org"]
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["PREFERRED_URL_SCHEME"] == "https"


def test_development_keeps_a_private_generated_key(clean_env, database_url, tmp_path):
    first = create_app(config(database_url))
    second = create_app(config(database_url))
    key_file = tmp_path / "instance" / "secret_key"
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] == key_file.read_text()
    assert len(first.config["SECRET_KEY"]) >= 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_redis_url_feeds_the_rate_limiter(clean_env, database_url):
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    app = create_app(config(database_url, SECRET_KEY="k"))
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
    clean_env.delenv("REDIS_URL")
    assert create_app(config(database_url, SECRET_KEY="k")).config[
        "RATELIMIT_STORAGE_URI"] == "memory://"


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:p@db/guild", "postgresql+psycopg://u:p@db/guild"),
    ("postgresql://u:p@db/guild", "postgresql+psycopg://u:p@db/guild"),
    ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
])
def test_database_url_from_the_environment(clean_env, tmp_path, given, expected):
    from marketplace import _normalise_db_url

    assert _normalise_db_url(given) == expected


def test_session_lifetime_is_hours_not_weeks(app):
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() <= 24 * 3600
    assert app.config["REMEMBER_COOKIE_DURATION"].days <= 30


class TestTrustedHosts:
    @pytest.fixture
    def app_config(self):
        return {"TRUSTED_HOSTS": ["guild.example.org"]}

    def test_reset_links_cannot_be_pointed_at_another_host(self, client, db, make_user):
        make_user("me@example.com")
        response = client.post("/password/forgot", data={"email": "me@example.com"},
                               headers={"Host": "evil.example"})
        assert response.status_code == 400
        assert db.session.scalar(select(func.count(EmailMessage.id))) == 0

        client.post("/password/forgot", data={"email": "me@example.com"},
                    headers={"Host": "guild.example.org"})
        message = db.session.scalar(select(EmailMessage))
        assert "http://guild.example.org/password/reset/" in message.body_text

    def test_untrusted_host_gets_a_plain_400_not_a_crash(self, client):
        response = client.get("/", headers={"Host": "evil.example"})
        assert response.status_code == 400
        assert "evil.example" not in response.get_data(as_text=True)
