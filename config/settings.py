"""Redress settings: one file, driven by environment variables with safe development defaults.

Development (no environment): SQLite in the project folder, an embedded Celery transport
that needs no server, console email, DEBUG on. Production sets DJANGO_ENV=production and
must provide SECRET_KEY, DATABASE_URL, REDIS_URL and ALLOWED_HOSTS.
"""

import os
from datetime import date
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("REDRESS_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default or " ").split(",") if item.strip()]


def env_digest(name: str, default: str) -> int | None:
    """Minutes to gather a recipient's alerts into one digest email, or None ("off")."""
    value = env_str(name, default).strip().lower()
    if value in {"off", "no", "false", "none"}:
        return None
    try:
        minutes = int(value)
    except ValueError:
        minutes = -1
    if minutes < 0:
        raise ImproperlyConfigured(f"{name} must be a number of minutes or 'off', got {value!r}.")
    return minutes


ENVIRONMENT = env_str("DJANGO_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("DEBUG", not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is required in production.")
else:
    SECRET_KEY = env_str("SECRET_KEY", "django-insecure-development-only-key")  # noqa: S105
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "complaints",
    "followups",
    "reporting",
]

# Django's database sessions, loaded with a statement compiled once (complaints/sessions.py).
SESSION_ENGINE = "complaints.sessions"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "complaints.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Before the apps' templates: config/templates/unfold/layouts/skeleton.html is unfold's
        # page skeleton with its fixed parts rendered once per process (fragment_cache).
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Database: DATABASE_URL (PostgreSQL in production and CI), else SQLite in the project folder.
_default_sqlite = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
# Production never falls back silently to a development default.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") if PRODUCTION else env_str("DATABASE_URL", _default_sqlite)
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60 if PRODUCTION else 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process, the worker and beat share the demo database.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "REDRESS_PG_JIT_OFF", True
):
    # No JIT compilation: it costs seconds per statement (the planner enables it for any
    # large-looking aggregate: dashboard, summaries, exports) and saves milliseconds here.
    # Added to any `options` the URL gives; REDRESS_PG_JIT_OFF=false leaves the connection
    # alone (PgBouncer in transaction mode refuses startup options: set jit=off on the server).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = " ".join(filter(None, [_options.get("options", ""), "-c jit=off"]))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# How many reverse proxies in front of the web processes append to X-Forwarded-For; the
# client address for the per-address limits is taken from there (0: REMOTE_ADDR).
REDRESS_TRUSTED_PROXIES = env_int("REDRESS_TRUSTED_PROXIES", 0)

# Admin login: refused for a while after this many failures for one user name.
REDRESS_LOGIN_FAILURE_LIMIT = env_int("REDRESS_LOGIN_FAILURE_LIMIT", 5)
REDRESS_LOGIN_LOCKOUT_SECONDS = env_int("REDRESS_LOGIN_LOCKOUT_SECONDS", 900)

# Language and time.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Outside production WhiteNoise serves straight from the apps (no collectstatic needed).
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = not PRODUCTION
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# REST API (complaints/api): API-client keys or staff sessions, scopes, per-caller throttle.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "complaints.api.auth.TokenAuthentication",
        "complaints.api.auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["complaints.api.auth.HasScope"],
    "DEFAULT_THROTTLE_RATES": {
        "caller": env_str("REDRESS_API_RATE", "1200/min"),
        # Callers without a valid key or session (and the public schema), per address.
        "address": env_str("REDRESS_API_ANON_RATE", "60/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "complaints.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "complaints.api.errors.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Redress API",
    "DESCRIPTION": (
        "Complaint data for other departments and systems, and complaint intake. "
        "Authenticate with `Authorization: Token <key>` (keys: `manage.py create_api_client`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # served from this site: the docs work offline
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "complaints.api.schema.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ChannelEnum": "complaints.models.complaint.Channel",
        "DirectionEnum": "complaints.models.events.ComplaintEvent.Direction",
    },
}
# Email: console in development, SMTP when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))  # filebased backend
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Redress <redress@localhost>")
# Seconds an SMTP call may hang. Well below the 10 minutes after which another worker takes
# over an unfinished delivery (alerts.CLAIM_TIMEOUT), so a stalled send never goes out twice.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 60)
# Absolute address of the admin, for links in emails.
REDRESS_BASE_URL = env_str("REDRESS_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# Deadline alert emails: one digest per recipient address instead of one email per alert.
# Minutes a recipient's alerts are gathered before their digest goes (0: at once, together
# with whatever else is waiting), or "off" to send each alert on its own. Crisis notices and
# every alert about a crisis complaint always go at once and on their own.
REDRESS_ALERT_DIGEST = {
    "reminder": env_digest("REDRESS_ALERT_DIGEST_REMINDER", "5"),
    "escalation": env_digest("REDRESS_ALERT_DIGEST_ESCALATION", "off"),
}
# Database connections the deadline sweep claims and writes its batches over at once
# (PostgreSQL; one thread each): the database does most of a sweep's work, on that many cores.
REDRESS_SWEEP_CONNECTIONS = env_int("REDRESS_SWEEP_CONNECTIONS", 2)
# A compensation waiting this many hours for approval is escalated (once).
REDRESS_APPROVAL_ESCALATION_HOURS = env_int("REDRESS_APPROVAL_ESCALATION_HOURS", 24)
# Awaiting customer: the follow-up date offered (days ahead) and, when above 0, the days of
# the customer's silence after which the complaint is closed automatically (0: never).
REDRESS_AWAITING_FOLLOW_UP_DAYS = env_int("REDRESS_AWAITING_FOLLOW_UP_DAYS", 3)
REDRESS_AWAITING_AUTO_CLOSE_DAYS = env_int("REDRESS_AWAITING_AUTO_CLOSE_DAYS", 0)
# Follow-ups: a complaint repeats an earlier one of the same customer and category or item
# within this many days; survey page requests allowed per client address and minute.
REDRESS_REPEAT_WINDOW_DAYS = env_int("REDRESS_REPEAT_WINDOW_DAYS", 90)
REDRESS_SURVEY_RATE_PER_MINUTE = env_int("REDRESS_SURVEY_RATE_PER_MINUTE", 30)

# Celery: Redis when REDIS_URL is set, else kombu's filesystem transport (no server needed).
REDIS_URL = os.environ.get("REDIS_URL", "")
if PRODUCTION and not REDIS_URL:
    # Without it the broker would be a local folder and the cache per process.
    raise ImproperlyConfigured("Environment variable REDIS_URL is required in production.")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # max_retries 0: publishing to a dead Redis fails at once instead of retrying for
    # seconds inside a request (the database keeps the work; periodic tasks resend it).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "max_retries": 0}
else:
    _queue_dir = VAR_DIR / "celery-queue"
    for _folder in (_queue_dir, VAR_DIR / "celery-processed", VAR_DIR / "celery-control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
    }
# Throttle counters (and other short-lived data) shared by all processes when Redis is there.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "complaints.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "redress",
            # A dead or hanging Redis must cost a request little (the throttle degrades).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
# A request that enqueues a side effect must not hang on a dead broker: fail fast; the
# periodic tasks find the work in the database.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.5}
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Product settings.
REDRESS_ATTACHMENT_MAX_BYTES = env_int("REDRESS_ATTACHMENT_MAX_MB", 20) * 1024 * 1024
REDRESS_PHONE_REGION = env_str("REDRESS_PHONE_REGION", "CN")
# Above this many rows the admin shows PostgreSQL's row estimate instead of an exact COUNT(*).
REDRESS_ESTIMATED_COUNT_THRESHOLD = env_int("REDRESS_ESTIMATED_COUNT_THRESHOLD", 10_000)
# Plausibility of every time a person enters (complaints/validators.py): not before this day,
# not more than this many seconds in the future (clock skew between systems).
REDRESS_EARLIEST_TIME = env_str("REDRESS_EARLIEST_TIME", "2000-01-01")
try:
    date.fromisoformat(REDRESS_EARLIEST_TIME)
except ValueError as exc:
    raise ImproperlyConfigured("REDRESS_EARLIEST_TIME must be a date (YYYY-MM-DD).") from exc
REDRESS_FUTURE_SKEW_SECONDS = env_int("REDRESS_FUTURE_SKEW_SECONDS", 300)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGIN_URL = reverse_lazy("admin:login")

# Content-Security-Policy on every page (the admin, the API docs). No inline scripts: an
# injected <script> or on* attribute never runs. 'unsafe-eval' because Unfold ships the
# standard Alpine.js build, which evaluates its x-* attributes with Function() (tested in
# tests/e2e/test_csp.py: without it the admin's widgets stop working); inline styles because
# Unfold and Alpine set style attributes. Everything is served from this site.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.UNSAFE_EVAL],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Unfold's login form has no hidden "next" field: a login from a bookmarked /admin/login/
# would otherwise land on Django's /accounts/profile/ (a 404 here).
LOGIN_REDIRECT_URL = reverse_lazy("admin:index")

# Production hardening (check --deploy clean). Behind a TLS-terminating proxy.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

UNFOLD = {
    "SITE_TITLE": _("Redress"),
    "SITE_HEADER": _("Redress complaints"),
    "SITE_SYMBOL": "support_agent",
    "SHOW_LANGUAGES": True,
    # Select2 (autocompletes) in the page's language: see the file.
    "SCRIPTS": [lambda request: static("complaints/select2_language.js")],
    "ENVIRONMENT": "config.admin_site.environment_callback",
    # Ctrl+K finds complaints by reference, phone, email... (complaints.search), not only menus.
    "COMMAND": {
        "search_models": False,
        "search_callback": "complaints.admin.command.search_callback",
        "show_history": False,
    },
    # Managers and department heads land on the reporting dashboard.
    "DASHBOARD_CALLBACK": "reporting.views.dashboard_callback",
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": [
            {
                "title": _("Complaints"),
                "items": [
                    {
                        "title": _("Inbox"),
                        "icon": "inbox",
                        "link": reverse_lazy("admin:complaints_notification_changelist"),
                        # The user's unread count on every admin page (one indexed COUNT).
                        "badge": "complaints.admin.alerts.unread_badge",
                        "badge_variant": "danger",
                        "badge_style": "solid",
                    },
                    {
                        "title": _("Complaints"),
                        "icon": "report",
                        "link": reverse_lazy("admin:complaints_complaint_changelist"),
                    },
                    {
                        "title": _("Customers"),
                        "icon": "person",
                        "link": reverse_lazy("admin:complaints_customer_changelist"),
                    },
                    {
                        "title": _("Reply templates"),
                        "icon": "quickreply",
                        "link": reverse_lazy("admin:complaints_replytemplate_changelist"),
                    },
                ],
            },
            {
                "title": _("Reporting"),
                "items": [
                    {
                        "title": _("Dashboard"),
                        "icon": "monitoring",
                        "link": reverse_lazy("reporting:dashboard"),
                        "permission": lambda request: request.user.has_perm(
                            "reporting.view_dashboard"
                        ),
                    },
                    {
                        "title": _("Monthly department reports"),
                        "icon": "summarize",
                        "link": reverse_lazy("admin:reporting_monthlyreport_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "reporting.view_monthlyreport"
                        ),
                    },
                    {
                        "title": _("Summary tables"),
                        "icon": "database",
                        "link": reverse_lazy("admin:reporting_summarystate_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "reporting.view_summarystate"
                        ),
                    },
                ],
            },
            {
                "title": _("Compensation"),
                "items": [
                    {
                        "title": _("Awaiting my approval"),
                        "icon": "approval",
                        "link": lambda request: (
                            str(reverse_lazy("admin:complaints_compensation_changelist"))
                            + "?queue=mine"
                        ),
                        "permission": lambda request: request.user.has_perm(
                            "complaints.approve_compensation"
                        ),
                    },
                    {
                        "title": _("Compensations"),
                        "icon": "payments",
                        "link": reverse_lazy("admin:complaints_compensation_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "complaints.view_compensation"
                        ),
                    },
                    {
                        "title": _("Compensation totals"),
                        "icon": "summarize",
                        "link": reverse_lazy("admin:complaints_compensation_totals"),
                        "permission": lambda request: request.user.has_perm(
                            "complaints.view_compensation"
                        ),
                    },
                    {
                        "title": _("Incidents"),
                        "icon": "crisis_alert",
                        "link": reverse_lazy("admin:complaints_incident_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "complaints.view_incident"
                        ),
                    },
                    {
                        "title": _("Approval limits"),
                        "icon": "rule",
                        "link": reverse_lazy("admin:complaints_approvallimit_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "complaints.view_approvallimit"
                        ),
                    },
                    {
                        "title": _("Compensation guidance"),
                        "icon": "tips_and_updates",
                        "link": reverse_lazy("admin:complaints_tierguidance_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "complaints.view_tierguidance"
                        ),
                    },
                    {
                        "title": _("Root causes"),
                        "icon": "troubleshoot",
                        "link": reverse_lazy("admin:complaints_rootcause_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "complaints.view_rootcause"
                        ),
                    },
                ],
            },
            {
                "title": _("Deadlines"),
                "items": [
                    {
                        "title": _("SLA policies"),
                        "icon": "timer",
                        "link": reverse_lazy("admin:complaints_slapolicy_changelist"),
                    },
                    {
                        "title": _("Business calendars"),
                        "icon": "calendar_month",
                        "link": reverse_lazy("admin:complaints_businesscalendar_changelist"),
                    },
                    {
                        "title": _("Holidays and moved working days"),
                        "icon": "event_busy",
                        "link": reverse_lazy("admin:complaints_calendarexception_changelist"),
                    },
                    {
                        "title": _("Deadline recomputations"),
                        "icon": "sync",
                        "link": reverse_lazy("admin:complaints_recomputejob_changelist"),
                        "permission": "complaints.admin.jobs.can_view_jobs",
                    },
                    {
                        "title": _("Reminders and escalations"),
                        "icon": "notifications_active",
                        "link": reverse_lazy("admin:complaints_deadlinealert_changelist"),
                        "permission": "complaints.admin.alerts.can_view_alerts",
                    },
                    {
                        "title": _("Notification lists"),
                        "icon": "groups",
                        "link": reverse_lazy("admin:complaints_notificationlist_changelist"),
                        "permission": "complaints.admin.alerts.can_view_lists",
                    },
                    {
                        "title": _("Schedule (sweep, retries)"),
                        "icon": "schedule",
                        "link": reverse_lazy("admin:django_celery_beat_periodictask_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "django_celery_beat.view_periodictask"
                        ),
                    },
                ],
            },
            {
                "title": _("Follow-ups and improvement"),
                "items": [
                    {
                        "title": _("Return visits"),
                        "icon": "phone_callback",
                        "link": reverse_lazy("admin:followups_followup_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "followups.view_followup"
                        ),
                    },
                    {
                        "title": _("Satisfaction surveys"),
                        "icon": "sentiment_satisfied",
                        "link": reverse_lazy("admin:followups_surveyinvitation_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "followups.view_surveyinvitation"
                        ),
                    },
                    {
                        "title": _("Repeat complaints"),
                        "icon": "repeat",
                        "link": reverse_lazy("admin:followups_repeatlink_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "followups.view_repeatlink"
                        ),
                    },
                    {
                        "title": _("Improvement actions"),
                        "icon": "construction",
                        "link": reverse_lazy("admin:followups_improvementaction_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "followups.view_improvementaction"
                        ),
                    },
                    {
                        "title": _("Follow-up policies"),
                        "icon": "rule",
                        "link": reverse_lazy("admin:followups_followuppolicy_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "followups.view_followuppolicy"
                        ),
                    },
                    {
                        "title": _("Survey invitation texts"),
                        "icon": "edit_note",
                        "link": reverse_lazy("admin:followups_messagetemplate_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "followups.view_messagetemplate"
                        ),
                    },
                ],
            },
            {
                "title": _("Organisation"),
                "items": [
                    {
                        "title": _("Departments"),
                        "icon": "corporate_fare",
                        "link": reverse_lazy("admin:complaints_department_changelist"),
                    },
                    {
                        "title": _("Categories"),
                        "icon": "account_tree",
                        "link": reverse_lazy("admin:complaints_category_changelist"),
                    },
                    {
                        "title": _("Staff users"),
                        "icon": "badge",
                        "link": reverse_lazy("admin:auth_user_changelist"),
                    },
                    {
                        "title": _("API clients"),
                        "icon": "key",
                        "link": reverse_lazy("admin:complaints_apiclient_changelist"),
                        "permission": lambda request: request.user.has_perm(
                            "complaints.view_apiclient"
                        ),
                    },
                    {
                        "title": _("Admin change log"),
                        "icon": "history",
                        "link": reverse_lazy("admin:admin_logentry_changelist"),
                        "permission": lambda request: request.user.has_perm("admin.view_logentry"),
                    },
                ],
            },
        ],
    },
}

# Every sidebar entry without its own rule is shown only to those its page lets in.
for _group in UNFOLD["SIDEBAR"]["navigation"]:
    for _item in _group["items"]:
        if "permission" not in _item:
            from config.admin_site import sidebar_permission

            _item["permission"] = sidebar_permission(_item["link"])
