"""Settings for every environment, read from environment variables (see .env.example).

DJANGO_ENV picks the defaults: `production` (the default, so a forgotten variable fails safe),
`development` (what `make run` sets) or `test` (what `make test` sets).
"""

from pathlib import Path

import csp.constants as csp
import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env_str("DJANGO_ENV", "production")
if DJANGO_ENV not in {"production", "development", "test"}:
    raise ImproperlyConfigured(f"DJANGO_ENV={DJANGO_ENV!r}: use production, development or test")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", DJANGO_ENV == "development")

DEVELOPMENT_SECRET_KEY = "insecure-development-key-only-for-make-run-and-make-test-never-production"  # noqa: S105
# Keys published in this repository or commonly pasted from examples: anyone could sign sessions
# and password-reset links with them. tests/test_deploy.py checks .env.example's is listed.
PLACEHOLDER_SECRET_KEYS = {
    "change-me-to-a-long-random-string-of-at-least-50-characters",
    DEVELOPMENT_SECRET_KEY,
    "change-me",
    "changeme",
    "secret",
    "your-secret-key",
}
_secret = env_str("DJANGO_SECRET_KEY")
if not _secret:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: production refuses to start without one "
            "(generate with: python -c 'import secrets; print(secrets.token_urlsafe(64))')"
        )
    _secret = DEVELOPMENT_SECRET_KEY
if PRODUCTION and (_secret in PLACEHOLDER_SECRET_KEYS or _secret.startswith("django-insecure-")):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is a placeholder (the example in .env.example or a development key): "
        "production refuses to start with it "
        "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(64))')"
    )
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Django's admin, behind the portal's log-in and its second factor (msp_portal/admin_site.py).
    "msp_portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "contracts",
    "kpis",
    "reviews",
    "reconciliation",
    "disputes",
    "scorecard",
    "evidence",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.RequireStaffMfaMiddleware",
    "kpis.imports.upload_limit.UploadLimitMiddleware",  # last: its 413 page has the others' context
]

ROOT_URLCONF = "msp_portal.urls"
WSGI_APPLICATION = "msp_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "msp_portal.context_processors.tenancy",
            ],
        },
    },
]

# --- Data stores ----------------------------------------------------------------------------
_database_url = env_required(
    "DATABASE_URL",
    "run through `make run` / `make test` (they start an embedded PostgreSQL) or point it at a "
    "server, e.g. postgres://user:pass@host:5432/dbname",
)
DATABASES = {
    "default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_required(
    "REDIS_URL",
    "run through `make run` / `make test` (they start an embedded Redis) or point it at a server, "
    "e.g. redis://host:6379/0",
)
_CACHE_TIMEOUT = env_int("CACHE_SOCKET_TIMEOUT_SECONDS", 2)
CACHES = {
    "default": {
        # A miss while Redis is unreachable, not a 500 on every page (see msp_portal/cache.py).
        "BACKEND": "msp_portal.cache.FailSoftRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"msp-portal-{DJANGO_ENV}",
        # A Redis that stops answering (packets dropped, a hung host) must cost a page this
        # long at most, then count as unreachable: without a timeout the socket waits forever.
        "OPTIONS": {"socket_connect_timeout": _CACHE_TIMEOUT, "socket_timeout": _CACHE_TIMEOUT},
    }
}

CELERY_BROKER_URL = REDIS_URL
# kombu's Redis transport with a failed acknowledgement repaired (msp_portal/broker.py): without
# it, a worker whose ack timed out on a hung broker never takes another task.
if REDIS_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT = "msp_portal.broker:Transport"
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only when it has finished, and a worker that dies gives it back: every
# task is written to be idempotent, so running one twice is safe and losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task running when the worker loses the broker goes on to its end (Celery 6 will cancel it by
# default): an import or a recompute is one transaction under a lease, so finishing it is right,
# and a copy of its message given back to the queue finds the job done and does nothing
# (tests/faults/test_redis.py, the Redis restarts).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that accepts connections and then never answers (a hung host, a partition, a stopped
# redis-server) must not hang the request that publishes a task: without a socket timeout
# redis-py waits on it for ever (celery#4296, kombu#449). Every command of the broker and of the
# result backend (whose own default is 120 s) gives up after this many seconds. It stays above
# the 1 s for which an idle worker's BRPOP waits for its empty reply (kombu's redis Transport:
# brpop_timeout = 1, polling_interval unset), so an idle queue never times out.
_BROKER_TIMEOUT = env_int("BROKER_SOCKET_TIMEOUT_SECONDS", 3)
if _BROKER_TIMEOUT < 2:
    raise ImproperlyConfigured("BROKER_SOCKET_TIMEOUT_SECONDS must be 2 or more (BRPOP waits 1 s)")
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": _BROKER_TIMEOUT,
    "socket_timeout": _BROKER_TIMEOUT,
}
CELERY_REDIS_SOCKET_TIMEOUT = _BROKER_TIMEOUT
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = _BROKER_TIMEOUT
# One retry of a failed publish, at once: enough for a pooled connection that a Redis restart
# left stale. Against a broker that does not answer, task.delay() then gives up after at most
# three timeouts (the send, then two connection attempts: 9 s by default) and the job stays
# queued for the sweep (msp_portal.jobs.enqueue). Celery's default, 3 retries, is 5 timeouts.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# The nightly recompute is split into this many batches: one per worker process (concurrency).
KPI_RECOMPUTE_BATCHES = env_int("KPI_RECOMPUTE_BATCHES", 2)
# A client whose newest ticket activity is older than this many days is flagged on the
# portfolio: its exports are expected about monthly, so its figures may have stopped short.
IMPORT_CADENCE_DAYS = env_int("IMPORT_CADENCE_DAYS", 35)
# Beat runs hourly so that every contract's new period opens within an hour of its local midnight.
# Jobs a dead worker left running, or queued while the broker was down, are handed to a worker
# again by this sweep (and by every worker as it starts).
JOBS_SWEEP_SECONDS = env_int("JOBS_SWEEP_SECONDS", 60)
# A recompute an import asked for this long ago, neither running nor queued, is queued again.
RECOMPUTE_SWEEP_GRACE_SECONDS = env_int("RECOMPUTE_SWEEP_GRACE_SECONDS", 120)
# The niceness a Celery worker gives itself at start (its pool processes inherit it): imports,
# recomputes and PDFs take the CPU the pages leave, so a big import does not slow every page
# (msp_portal/celery.py; bench-load in benchmarks/RESULTS.md). 0 keeps the worker's own.
WORKER_NICENESS = env_int("WORKER_NICENESS", 10)
CELERY_BEAT_SCHEDULE = {
    "commitments-refresh": {"task": "contracts.tasks.commitments_refresh", "schedule": 3600.0},
    "imports-sweep": {
        "task": "kpis.tasks.imports_sweep_task",
        "schedule": float(JOBS_SWEEP_SECONDS),
    },
    "review-pdfs-sweep": {
        "task": "reviews.tasks.review_pdfs_sweep_task",
        "schedule": float(JOBS_SWEEP_SECONDS),
    },
    "tool-report-imports-sweep": {
        "task": "evidence.tasks.tool_report_imports_sweep_task",
        "schedule": float(JOBS_SWEEP_SECONDS),
    },
    # Nightly full KPI recompute (imports trigger their own client's recompute as they commit).
    # Draft QBRs for every active contract once a quarter has ended (daily; idempotent).
    "reviews-create-drafts": {
        "task": "reviews.tasks.reviews_create_drafts",
        "schedule": crontab(hour=6, minute=0),
    },
    "kpis-recompute-all": {
        "task": "kpis.tasks.kpis_recompute_all",
        "schedule": crontab(hour=2, minute=30),
    },
    # Open disputes past the MSP's window follow the contract's rule (disputes/services.py);
    # the dispute pages also settle them as they are read.
    "disputes-settle-overdue": {
        "task": "disputes.tasks.disputes_settle_overdue_task",
        "schedule": crontab(hour=5, minute=0),
    },
    # The files of tool report uploads refused or failed TOOL_REPORT_JOB_FILE_DAYS ago go.
    "tool-report-job-files-purge": {
        "task": "evidence.tasks.tool_report_job_files_purge_task",
        "schedule": crontab(hour=4, minute=15),
    },
    # What imports past IMPORT_UNDO_DAYS kept for an undo is dropped (kpis/imports/undo.py).
    "imports-undo-purge": {
        "task": "kpis.tasks.import_undo_rows_purge_task",
        "schedule": crontab(hour=3, minute=15),
    },
}

# --- Auth: email log-in, MFA, throttling ------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's, each loading a session's user with their memberships in one query.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
if DJANGO_ENV == "test":
    # The suite makes a few hundred users; the production hasher's cost (≈0.4 s a password) is
    # there for attackers, not for test data. Django's default hashers stay listed, so a hash
    # made by either is read by both (tests/test_deploy.py checks production keeps them).
    PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "accounts.adapters.InviteOnlyAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Throttles, in allauth's rate syntax (allauth keeps the counters in the Redis cache, so every web
# process shares them): failed log-ins per address and per account; password-reset mails per
# address and per account asked for; API tokens issued on the profile page per person
# (accounts/views.py, which reads this same dict).
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("LOGIN_FAILED_RATE_LIMIT", "10/m/ip,5/5m/key"),
    "reset_password": env_str("PASSWORD_RESET_RATE_LIMIT", "20/m/ip,5/m/key"),
    "api_token": env_str("API_TOKEN_RATE_LIMIT", "5/h/user"),
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "MSP Accountability Portal"
# MSP and advisor members must enrol TOTP before they see client data; the demo may relax it.
REQUIRE_STAFF_MFA = env_bool("REQUIRE_STAFF_MFA", True)

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
# Every page reads the session: from Redis, with the database behind it (a session survives a
# flushed cache, and logging out deletes it from both).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")
# Where emails point people to (links in notifications are absolute).
PORTAL_URL = env_str("PORTAL_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Security ---------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy: scripts only from the app's own static files (or carrying the page's
# nonce); data for charts travels in json_script blocks, which are not executed. Styles allow
# inline attributes because Plotly styles the SVG it draws that way.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF, "'unsafe-inline'"],
        "img-src": [csp.SELF, "data:"],
        "font-src": [csp.SELF, "data:"],
        "connect-src": [csp.SELF],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
    }
}

# --- Files ------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Outside production, files are served straight from static/ (no collectstatic step needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.js from the plotly wheel, served by the app like every other asset: no CDN.
    "msp_portal.staticfinders.PlotlyFinder",
]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 20 * 1024 * 1024)
# Days the client has to confirm or dispute a commitment the MSP recorded as done: unanswered
# after that, it counts as kept (contracts/models/commitments.py).
COMMITMENT_ANSWER_DAYS = env_int("COMMITMENT_ANSWER_DAYS", 14)
# A commitment measured from the MSP's tool reports waits this many days after its period for
# the report that covers it before the period counts as overdue (and credits), docs/evidence.md.
COMMITMENT_REPORT_GRACE_DAYS = env_int("COMMITMENT_REPORT_GRACE_DAYS", 10)
# A tool report upload that was refused or failed keeps its file this many days after it ended
# (its uploader may download it from the import's page), then the file goes (evidence/jobs.py).
TOOL_REPORT_JOB_FILE_DAYS = env_int("TOOL_REPORT_JOB_FILE_DAYS", 30)
# Largest ticket export accepted (a million-row CSV is about 250 MB).
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 1024 * 1024 * 1024)
# An import whose tickets match another source's for this percentage of the file or more stops
# before storing and asks (kpis/imports/overlap.py).
IMPORT_OVERLAP_PERCENT = env_int("IMPORT_OVERLAP_PERCENT", 20)
# How long an import can be undone; what it keeps to undo itself is dropped after that.
IMPORT_UNDO_DAYS = env_int("IMPORT_UNDO_DAYS", 30)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an API client with a bad or revoked token gets 401 with a WWW-Authenticate
    # header (DRF takes the header from the first class), not an ambiguous 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # The second factor is checked here as well as in the middleware: the middleware runs before
    # DRF reads a token, so to it a token request looks anonymous (accounts/permissions.py).
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.SecondFactorRequired",
    ],
    # django-filter, with foreign keys filtered by plain id (see msp_portal/api.py).
    "DEFAULT_FILTER_BACKENDS": ["msp_portal.api.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "msp_portal.api.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env_str("API_USER_RATE", "2000/hour")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MSP accountability portal API",
    "DESCRIPTION": "Contracts, SLA policies, responsibility matrices and commitments, "
    "scoped to the organisations the caller belongs to.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs describe tenant-shaped endpoints: only for people who may call them.
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.SecondFactorRequired",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # A ticket's kind and an organisation's kind are different choices: each its own name.
    "ENUM_NAME_OVERRIDES": {
        "TicketKindEnum": "kpis.models.Ticket.Kind",
        "TicketStateEnum": "kpis.models.Ticket.State",
        "AgreementStateEnum": "contracts.models.agreement.AgreementState",
        # A tool report's kind: its reports' and its imports' (evidence/models.py).
        "ToolReportKindEnum": "evidence.models.ToolReport.Kind",
    },
    # Swagger UI from the sidecar package's static files: nothing is fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Error answers (400, 401, 403, 404, 429) are part of every operation's documented contract.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "msp_portal.api.error_responses_add",
    ],
}

# --- Locale -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # The PDF's chart exporter logs every browser tab, and WeasyPrint every layout step, at INFO.
    "loggers": {
        name: {"level": "WARNING"}
        for name in ("kaleido", "choreographer", "logistro", "weasyprint", "fontTools")
    },
}
