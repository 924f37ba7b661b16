"""Production settings: refuse to start without a secret, pass check --deploy; compose file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=base | env,
        timeout=120,
        check=False,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_ENV="production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set: production refuses to start without one" in result.stderr


def test_production_settings_pass_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY="x7Kq-2pLm9vRt4sWz8yBc1nDf6gHj3kQ0aEe5uIo_ZpXv-NwMb" * 2,
        DJANGO_ALLOWED_HOSTS="portal.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_only_the_test_settings_hash_passwords_with_the_fast_hasher():
    """The suite's fast hasher (msp_portal/settings.py) must never reach a deployment."""
    probe = "from django.conf import settings; print(settings.PASSWORD_HASHERS[0])"
    secret = {"DJANGO_SECRET_KEY": "x7Kq-2pLm9vRt4sWz8yBc1nDf6gHj3kQ0aEe5uIo_ZpXv-NwMb" * 2}
    first = {}
    for env in ("production", "development", "test"):
        # --no-imports: the shell's own line about what it imported would come before ours.
        result = run_manage("shell", "--no-imports", "-c", probe, DJANGO_ENV=env, **secret)
        first[env] = result.stdout.strip() or result.stderr
    assert first == {
        "production": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "development": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "test": "django.contrib.auth.hashers.MD5PasswordHasher",
    }


def test_docker_compose_names_the_services_of_a_deployment():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) >= {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] in (".", {"context": "."}) or "image" in services[name]
    assert "gunicorn" in str(services["web"]["command"])
    assert "worker" in str(services["worker"]["command"])
    assert "beat" in str(services["beat"]["command"])
    assert (ROOT / "Dockerfile").exists()


def test_env_example_lists_every_variable_settings_read():
    import re

    read = set()
    for source in ("msp_portal/settings.py", "msp_portal/devstack.py", "gunicorn.conf.py"):
        text = (ROOT / source).read_text()
        read |= set(re.findall(r'env_(?:str|bool|int|list|required)\(\s*"([A-Z_]+)"', text))
        read |= set(re.findall(r'os\.environ(?:\.get)?\(\s*"([A-Z_]+)"', text))
        read |= set(re.findall(r'env\.get\(\s*"([A-Z_]+)"', text))
    listed = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read, "no variables found: the pattern is stale"
    assert read - listed == set()


FREEZE_PROBE = """
import gc, runpy, sys
import django
django.setup()
hooks = runpy.run_path("gunicorn.conf.py")
before = "kpis.dashboard.views" in sys.modules
hooks["post_worker_init"](None)
print(before, "kpis.dashboard.views" in sys.modules, gc.get_freeze_count() > 10000)
"""


def test_a_gunicorn_worker_loads_the_views_and_freezes_them_before_its_first_request():
    result = subprocess.run(
        [sys.executable, "-c", FREEZE_PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True"]
