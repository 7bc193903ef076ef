"""Settings are read from the environment in one place and refuse unsafe production set-ups."""

import json
import os
import subprocess
import sys

import pytest

from tests.live import ROOT


def load_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    clean["HUB_ENV_FILE"] = ""  # a developer's .env (written by make run) must not change what is tested
    clean.update(env)
    code = (
        "import json, hub.settings as s;"
        "print(json.dumps({'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'],"
        "'db_name': str(s.DATABASES['default']['NAME']), 'layer': s.CHANNEL_LAYERS['default']['BACKEND'],"
        "'hosts': s.ALLOWED_HOSTS, 'secure_cookie': getattr(s, 'SESSION_COOKIE_SECURE', False),"
        "'layer_config': s.CHANNEL_LAYERS['default'].get('CONFIG', {})}, default=str))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def settings_for(env: dict[str, str]) -> dict:
    result = load_settings(env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_environment_in_debug_means_sqlite_and_in_memory_layer():
    s = settings_for({"DJANGO_DEBUG": "1"})
    assert s["debug"] is True
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["db_name"].endswith("db.sqlite3")
    assert s["layer"] == "channels.layers.InMemoryChannelLayer"
    assert "127.0.0.1" in s["hosts"]


def test_database_url_and_redis_url_switch_to_postgres_and_redis():
    s = settings_for({"DJANGO_DEBUG": "1", "DATABASE_URL": "postgres://u:p@db.example:5433/hubdb",
                      "REDIS_URL": "redis://cache.example:6380/2"})
    assert s["engine"] == "django.db.backends.postgresql"
    assert s["db_name"] == "hubdb"
    assert s["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    host = s["layer_config"]["hosts"][0]
    assert host["address"] == "redis://cache.example:6380/2"
    assert host["max_connections"] >= 100  # the MaxConnectionsError trap of STACK-NOTES


def test_core_layer_is_selectable_with_deliberate_capacity():
    s = settings_for({"DJANGO_DEBUG": "1", "REDIS_URL": "redis://x:6379/0", "HUB_CHANNEL_LAYER": "core"})
    assert s["layer"] == "channels_redis.core.RedisChannelLayer"
    assert s["layer_config"]["capacity"] == 5000
    assert s["layer_config"]["group_expiry"] == 86400


@pytest.mark.parametrize("debug_value", ["", "0", "false", "no"])
def test_production_refuses_to_start_without_a_secret_key(debug_value):
    result = load_settings({"DJANGO_DEBUG": debug_value})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_production_refuses_the_development_key():
    result = load_settings({"DJANGO_SECRET_KEY": "dev-only-insecure-key-do-not-use-in-production"})
    assert result.returncode != 0
    assert "development secret key" in result.stderr


def test_production_with_a_key_reads_allowed_hosts_and_secures_cookies():
    s = settings_for({"DJANGO_SECRET_KEY": "x" * 50, "DJANGO_ALLOWED_HOSTS": "hub.example.vn, ,10.0.0.5,"})
    assert s["debug"] is False
    assert s["hosts"] == ["hub.example.vn", "10.0.0.5"]
    assert s["secure_cookie"] is True


def test_malformed_integer_setting_is_a_clear_error():
    result = load_settings({"DJANGO_DEBUG": "1", "HUB_MAX_BODY_BYTES": "lots"})
    assert result.returncode != 0
    assert "HUB_MAX_BODY_BYTES must be an integer" in result.stderr


def test_deploy_checks_are_clean_for_production_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update({"DJANGO_SECRET_KEY": "k" * 60 + "!@#$%^&*()", "DJANGO_ALLOWED_HOSTS": "hub.example.vn"})
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_checkouts_env_file_is_read_without_overriding_the_environment(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# written by make run\nDJANGO_DEBUG=1\nexport DJANGO_ALLOWED_HOSTS='hub.example, x.example'\n")
    s = settings_for({"HUB_ENV_FILE": str(env_file)})
    assert s["debug"] is True and s["hosts"] == ["hub.example", "x.example"]
    s = settings_for({"HUB_ENV_FILE": str(env_file), "DJANGO_ALLOWED_HOSTS": "only.example"})
    assert s["hosts"] == ["only.example"]  # the environment wins
