"""Django settings for Egress Console, read from the environment.

Zero-setup default: SQLite in the project folder, DEBUG on, a development secret key.
Production sets DATABASE_URL, SECRET_KEY, DEBUG=0 and ALLOWED_HOSTS.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable (1/true/yes/on)."""
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY") or ("dev-only-insecure-key-egress-console" if DEBUG else None)
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_guid",
    "pgtrigger",
    "django_tasks",
    "django_tasks_db",
    "policies",
]

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",  # NB: first, so every log line of a request carries its id
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "console.errors.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = "console.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    # NB: an empty DATABASE_URL means "unset" (the SQLite default), as a shell's `DATABASE_URL=` suggests.
    # Health checks: a persistent connection that died with a database restart is replaced, not used.
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # NB: SQLite locks the whole file. A deferred transaction that reads, then writes, fails at once
    # with "database is locked" when another writer got there first; IMMEDIATE takes the write lock
    # at BEGIN and waits for it (up to `timeout` seconds), so concurrent saves queue and the version
    # check answers 412, as row locks do on PostgreSQL. WAL lets readers go on during a write.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [  # NB: Django's four (issue 12, item 4); they check passwords set through forms
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "policies.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Egress Console API",
    "DESCRIPTION": "Manage ASMEgressTrafficPolicy egress policies: validate, render, simulate, revise.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "policies.api.schema.add_policy_components",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # NB: the apply target (asm | istio) is one choice set wherever it appears: reviews, jobs, clusters.
    # An apply job's (and each of its clusters') state is its own choice set, not a review's.
    "ENUM_NAME_OVERRIDES": {
        "TargetEnum": ["asm", "istio"],
        "ApplyJobStateEnum": "policies.models_jobs.JobState",
        "FlowProtocolEnum": ["HTTP", "HTTP2", "TLS", "TCP"],  # NB: an observed flow's protocol, as the sidecar saw it
    },
}

# Distinct approvals a review needs before its revision counts as approved (issue 11).
EGRESS_REQUIRED_APPROVALS = int(os.environ.get("EGRESS_REQUIRED_APPROVALS", "1"))

# Directories (separated by os.pathsep) registered clusters' kubeconfig files must lie in; empty: anywhere.
EGRESS_KUBECONFIG_DIRS = [d for d in os.environ.get("EGRESS_KUBECONFIG_DIRS", "").split(os.pathsep) if d.strip()]
# NB: an exec plugin (aws, gke-gcloud-auth-plugin, kubelogin ...) runs a program named in the kubeconfig, as the
# console's user, on every connection; off unless the operator chooses it.
EGRESS_KUBECONFIG_ALLOW_EXEC = env_bool("EGRESS_KUBECONFIG_ALLOW_EXEC", False)

# Background jobs (applies, webhook deliveries) go through Django's Tasks API (django-tasks). The
# database backend keeps the queue in the console's own database; `manage.py db_worker` runs it (the
# compose file's worker service, deploy/worker.yaml, and `make run` beside runserver).
# EGRESS_TASKS_BACKEND=django_tasks.backends.immediate.ImmediateBackend runs each job in the request.
TASKS = {"default": {"BACKEND": os.environ.get("EGRESS_TASKS_BACKEND") or "django_tasks_db.DatabaseBackend"}}
# Optional: every review state change is POSTed there as JSON (retried with backoff; never blocks).
EGRESS_WEBHOOK_URL = os.environ.get("EGRESS_WEBHOOK_URL", "").strip()
# Observed traffic (issue 13): a flow is kept this many days after the last upload that saw it, and an
# access-log upload through the console or API may be at most this big (`egress discover` streams any size).
EGRESS_OBSERVATION_RETENTION_DAYS = int(os.environ.get("EGRESS_OBSERVATION_RETENTION_DAYS", "30"))
EGRESS_DISCOVERY_MAX_UPLOAD_BYTES = int(os.environ.get("EGRESS_DISCOVERY_MAX_UPLOAD_BYTES", str(64 * 1024 * 1024)))

# Request ids: an incoming X-Request-ID (a UUID, e.g. from a proxy) is kept, else one is made; it is
# sent back in the response's X-Request-ID and stamped on every log line of the request.
DJANGO_GUID = {"GUID_HEADER_NAME": "X-Request-ID", "EXPOSE_HEADER": False}

# NB: Django's defaults log request errors to the console only when DEBUG is on (and mail them to
# ADMINS, which we do not have), so with DEBUG=0 a server error left no trace at all. Here
# django.request (every 5xx with its traceback, 4xx as warnings) goes to stderr in every mode.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "django_guid.log_filters.CorrelationId", "correlation_id_field": "request_id"}},
    "formatters": {"console": {"format": "%(asctime)s %(levelname)s %(name)s [request %(request_id)s] %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "filters": ["request_id"], "formatter": "console"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "policies": {"handlers": ["stderr"], "level": os.environ.get("EGRESS_LOG_LEVEL", "INFO")},
    },
}
# NB: the debug error page masks connection URLs, tokens and passwords in settings and in the
# request's environment (which under runserver holds the whole process environment).
DEFAULT_EXCEPTION_REPORTER_FILTER = "console.reporting.SecretsMaskingReporterFilter"

# ---------------------------------------------------------------------------------------------
# Production hardening (issue 12, item 2): HTTPS, security headers, Content-Security-Policy, logs.
# With DEBUG=0 everything is on; `check --deploy --fail-level WARNING` passes with a strong key.
# ---------------------------------------------------------------------------------------------
# NB: HTTPS_ONLY=0 serves plain HTTP (a loopback test, a trusted network without TLS): no redirect,
# no Secure cookies, no HSTS. Behind a TLS-terminating proxy keep it on and name the proxy's header.
HTTPS_ONLY = env_bool("HTTPS_ONLY", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS_ONLY
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or (31_536_000 if HTTPS_ONLY else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# e.g. SECURE_PROXY_SSL_HEADER=X-Forwarded-Proto: trusted only when the proxy always sets (or strips) it.
_proxy_header = os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip()
SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https") if _proxy_header else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # NB: kubelet probes speak plain HTTP to the pod
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp) in every mode, so the browser tests run under it: scripts and
# styles come from our own static files only (no inline <script>, <style>, style= or on*=).
INSTALLED_APPS += ["csp"]
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "csp.middleware.CSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # NB: Swagger UI draws its icons as data: URLs
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Logs: JSON lines in production (LOG_FORMAT=json, the default with DEBUG=0), text otherwise; every
# line carries the request id, and tokens, passwords and the secret key are masked in every line.
LOG_FORMAT = os.environ.get("LOG_FORMAT") or ("text" if DEBUG else "json")
_logging: dict[str, Any] = LOGGING  # NB: the edits below index nested dicts mypy sees as objects
_logging["filters"]["redact"] = {"()": "console.logs.SecretsRedactingFilter"}
_logging["formatters"]["json"] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": ["asctime", "levelname", "name", "request_id", "message"],
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
_logging["handlers"]["stderr"].update(filters=["request_id", "redact"], formatter=LOG_FORMAT.replace("text", "console"))
if LOG_FORMAT == "json":  # NB: gunicorn's own lines (access log, worker events) as JSON lines too
    _logging["filters"]["access_request_id"] = {"()": "console.logs.AccessRequestIdFilter"}
    _logging["handlers"]["gunicorn"] = {
        "class": "logging.StreamHandler",
        "filters": ["request_id", "access_request_id", "redact"],
        "formatter": "json",
    }
    for _logger in ("gunicorn.access", "gunicorn.error"):
        _logging["loggers"][_logger] = {"handlers": ["gunicorn"], "level": "INFO", "propagate": False}
# NB: django.security (disallowed hosts, CSRF refusals) reaches no handler by default with DEBUG=0.
for _logger in ("django.security", "axes", "mozilla_django_oidc"):
    _logging["loggers"][_logger] = {"handlers": ["stderr"], "level": "WARNING", "propagate": False}

# ---------------------------------------------------------------------------------------------
# Authentication hardening (issue 12, item 4): lockout, API throttles, passwords, sessions, SSO.
# ---------------------------------------------------------------------------------------------
INSTALLED_APPS += ["axes", "console"]  # NB: "console" for its table of throttle counters (console/models.py)
AUTHENTICATION_BACKENDS = ["console.lockout.LockoutBackend", "django.contrib.auth.backends.ModelBackend"]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # NB: last, as django-axes requires
# Failed sign-ins (console and admin) are counted per user name and client address, in the database,
# so every replica sees them; after AXES_FAILURE_LIMIT the pair is locked out for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT") or 5)
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES") or 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "console.lockout.lockout_response"
# NB: behind N proxies every client has the last proxy's address; TRUSTED_PROXY_COUNT=N reads the
# client's from X-Forwarded-For (the address the outermost trusted proxy saw) instead.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT") or 0)
AXES_CLIENT_IP_CALLABLE = "console.lockout.client_address"

# API throttles: counters in the database (console/throttling.py), shared by every replica and
# worker; a refusal is 429 in the API's error shape with Retry-After.
_rest_framework: dict[str, Any] = REST_FRAMEWORK
_rest_framework["DEFAULT_THROTTLE_CLASSES"] = [
    "console.throttling.SharedAnonRateThrottle",
    "console.throttling.SharedUserRateThrottle",
]
_rest_framework["DEFAULT_THROTTLE_RATES"] = {
    "anon": os.environ.get("API_THROTTLE_ANON") or "60/minute",
    "user": os.environ.get("API_THROTTLE_USER") or "6000/minute",
}

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE") or 8 * 3600)  # NB: seconds; a working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", True)

# Optional single sign-on with OpenID Connect (mozilla-django-oidc), off unless OIDC_ENABLED=1.
# README "Single sign-on" shows the variables for Keycloak.
OIDC_ENABLED = env_bool("OIDC_ENABLED", False)
if OIDC_ENABLED:
    INSTALLED_APPS += ["mozilla_django_oidc"]
    AUTHENTICATION_BACKENDS.append("mozilla_django_oidc.auth.OIDCAuthenticationBackend")
    OIDC_RP_CLIENT_ID = os.environ["OIDC_RP_CLIENT_ID"]
    OIDC_RP_CLIENT_SECRET = os.environ["OIDC_RP_CLIENT_SECRET"]
    OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO") or "RS256"
    OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES") or "openid email profile"
    OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ["OIDC_OP_AUTHORIZATION_ENDPOINT"]
    OIDC_OP_TOKEN_ENDPOINT = os.environ["OIDC_OP_TOKEN_ENDPOINT"]
    OIDC_OP_USER_ENDPOINT = os.environ["OIDC_OP_USER_ENDPOINT"]
    OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT")
    OIDC_CREATE_USER = env_bool("OIDC_CREATE_USER", True)
    OIDC_TIMEOUT = 10
