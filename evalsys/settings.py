"""Settings for evalsys, all read from the environment (see README, "Configuration")."""

import os
import sys
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name, default):
    value = os.environ.get(name, str(default)).strip().lower()
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
        raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")
    return value in ("1", "true", "yes", "on")


def envint(name, default):
    value = os.environ.get(name, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


# Commands that only compare the models with the migrations: they sign nothing, so they run
# without a secret key (a CI job checking migrations has none). Any use of the empty key is refused
# by Django itself ("The SECRET_KEY setting must not be empty"). Through `django-admin` or
# `python -m django` a settings error is otherwise swallowed and surfaces as AppRegistryNotReady.
SCHEMA_ONLY_COMMANDS = {"makemigrations", "showmigrations", "sqlmigrate"}

DEBUG = envbool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not (set(sys.argv[1:2]) & SCHEMA_ONLY_COMMANDS):
        raise ImproperlyConfigured(
            "Set SECRET_KEY in the environment (or DEBUG=true for local development); see README, Configuration."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG" if DEBUG else ""
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "import_export",
    "simple_history",
    "csp",
    "evalsys.apps.AxesConfig",  # django-axes, named in our catalogue
    "dealers",
    "scoring",
    "networks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "evalsys.middleware.RefuseNullCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "evalsys.urls"
WSGI_APPLICATION = "evalsys.wsgi.application"

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
                "dealers.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=envint("CONN_MAX_AGE", 60),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: lock a username + client address pair after repeated failures. Behind
# TRUSTED_PROXY_COUNT proxies the client address is read from X-Forwarded-For (evalsys.client_ip),
# so one person's failures never lock the account for everyone behind the proxy.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "evalsys.client_ip.client_ip"
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 8)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # no start-up banner in every command's output

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# Money as 1,234,567.89 in every language (zh_Hans's own THOUSAND_SEPARATOR is empty); see evalsys/formats/.
FORMAT_MODULE_PATH = ["evalsys.formats"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Uploaded files are never served at MEDIA_URL: photos go through a view that checks who asks.
# With a proxy, set an internal location (e.g. /protected-media/) for X-Accel-Redirect.
MEDIA_X_ACCEL_PREFIX = os.environ.get("MEDIA_X_ACCEL_PREFIX", "")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "evalsys.storage.StaticStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Largest file accepted by an upload (an import or a photo): reading stops there (evalsys.uploads).
IMPORT_MAX_UPLOAD_BYTES = envint("IMPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
# Most data rows an import reads (DESIGN.md §6.2); larger files are refused.
IMPORT_MAX_ROWS = envint("IMPORT_MAX_ROWS", 200_000)
FILE_UPLOAD_HANDLERS = [
    "evalsys.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "evalsys <evalsys@localhost>")
# Where users reach the app; links in e-mails start with it.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# Per process: figures of whole-company pages cached under their data versions
# (dealers.versions), and rendered fragments ({% cache %}, evalsys.fragments) apart, few:
# an office's score grid renders to about 1.2 MB.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "evalsys"},
    "template_fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "evalsys-fragments",
        "OPTIONS": {"MAX_ENTRIES": envint("FRAGMENT_CACHE_ENTRIES", 60)},
    },
}

# Without REDIS_URL, tasks run in-process (development, demo); with it, on Celery workers.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_ENABLE_UTC = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "evalsys")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {}
# The quarterly jobs of DESIGN.md §3.5, for the quarter just ended (Asia/Shanghai).
SCORING_REGRADE_DAY = envint("SCORING_REGRADE_DAY", 15)
CELERY_BEAT_SCHEDULE["scoring-open-quarter"] = {
    "task": "scoring.tasks.open_quarter_task",
    "schedule": crontab(minute=0, hour=1, day_of_month=1, month_of_year="1,4,7,10"),
}
CELERY_BEAT_SCHEDULE["scoring-regrade-quarter"] = {
    "task": "scoring.tasks.regrade_quarter_task",
    "schedule": crontab(minute=0, hour=2, day_of_month=SCORING_REGRADE_DAY, month_of_year="1,4,7,10"),
}

# Monthly targets (DESIGN.md §4): agreed on time up to this day of the month before;
# the reminder job runs on that day at 09:00 and sends a heads-up this many days before.
TARGET_REMINDER_DAY = envint("TARGET_REMINDER_DAY", 25)
TARGET_HEADS_UP_DAYS = envint("TARGET_HEADS_UP_DAYS", 5)
if not 1 <= TARGET_REMINDER_DAY <= 28 or not 0 <= TARGET_HEADS_UP_DAYS < TARGET_REMINDER_DAY:
    raise ImproperlyConfigured(
        "TARGET_REMINDER_DAY must be 1-28 and TARGET_HEADS_UP_DAYS smaller than it (0 for no heads-up)."
    )
CELERY_BEAT_SCHEDULE["target-reminders-deadline"] = {
    "task": "dealers.targets.tasks.send_target_reminders_task",
    "schedule": crontab(minute=0, hour=9, day_of_month=TARGET_REMINDER_DAY),
}
if TARGET_HEADS_UP_DAYS:
    CELERY_BEAT_SCHEDULE["target-reminders-heads-up"] = {
        "task": "dealers.targets.tasks.send_target_reminders_task",
        "schedule": crontab(minute=0, hour=9, day_of_month=TARGET_REMINDER_DAY - TARGET_HEADS_UP_DAYS),
    }
# Rectification plans of the watch list (DESIGN.md §5a): due within 7 days, and overdue.
CELERY_BEAT_SCHEDULE["watch-plan-reminders"] = {
    "task": "scoring.tasks.send_plan_reminders_task",
    "schedule": crontab(minute=5, hour=9),
}
# Every office's network summary of the quarter just ended is drafted (DESIGN.md §5).
CELERY_BEAT_SCHEDULE["draft-network-summaries"] = {
    "task": "networks.tasks.draft_network_summaries_task",
    "schedule": crontab(minute=0, hour=6, day_of_month=1, month_of_year="1,4,7,10"),
}

# The version log behind the cached whole-company figures (dealers.versions) folded nightly.
CELERY_BEAT_SCHEDULE["compact-data-versions"] = {
    "task": "dealers.tasks.compact_data_versions_task",
    "schedule": crontab(minute=30, hour=3),
}

# Only the app's own scripts, styles, fonts and images (DESIGN.md §7): no inline script or style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # Bootstrap draws its form controls' icons as data: SVG
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 3600)
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
