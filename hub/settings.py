"""Settings for the Inter-Centre Hub.

Every value that differs between a laptop, CI and production is read from the environment here and
nowhere else, so that `make run` works with no environment at all (SQLite + in-memory channel layer)
while `DATABASE_URL` / `REDIS_URL` switch the same code to PostgreSQL and Redis.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from hub.lib.origins import derive_public_origins, parse_origin, websocket_origins

BASE_DIR = Path(__file__).resolve().parent.parent

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean the way operators write them ("1", "true", "yes", "on")."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated list; empty items are dropped so "a,,b," means ["a", "b"]."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


def read_env_file(path: str) -> None:
    """Load `KEY=VALUE` lines of a checkout's `.env` (written by `make run`) into the environment,
    without overriding what is already set, so that a management command in the same checkout gets
    the settings the server got (`manage.py issue_token` after `make run`, as README says). The
    environment always wins; `HUB_ENV_FILE=` (empty) reads no file."""
    if not path or not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _sep, value = line.partition("=")
            key = key.strip().removeprefix("export ").strip()
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            if key:
                os.environ.setdefault(key, value)


read_env_file(os.environ.get("HUB_ENV_FILE", str(BASE_DIR / ".env")))

DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off (production). "
            "Set DJANGO_DEBUG=1 for local development."
        )
    SECRET_KEY = _DEV_SECRET_KEY
elif SECRET_KEY == _DEV_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured("The development secret key may not be used with DJANGO_DEBUG off.")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "hub",
    "chat",
    "alerts",
    "requests.apps.RequestsConfig",
    "reports",
    "worktime",
    "duty",
    "events",
    "notify",
    "frontend",
]

# Built in sync mode and entered once per request (hub/server/http.py).
MIDDLEWARE = [
    "hub.middleware.RequestMetricsMiddleware",  # HTTP latency by route (GET /metrics)
    "hub.lib.client_ip.ClientAddressMiddleware",  # REMOTE_ADDR from the declared proxies only
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "hub.lib.ratelimit.RateLimitScopeMiddleware",  # who the request's writes are charged to
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a page without the language cookie falls back on the person's preference.
    "hub.middleware.VietnameseFirstLocaleMiddleware",
    "hub.middleware.UnstorableCharactersMiddleware",  # NUL etc. in the path or query: 400 before any lookup
    "django_otp.middleware.OTPMiddleware",
    "hub.middleware.TwoFactorRequiredMiddleware",  # HUB_2FA_REQUIRED_ROLES: enrol or verify first
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hub.urls"
ASGI_APPLICATION = "hub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("HUB_DB_POOL", default=True):
    # A connection pool per process (psycopg_pool): opening a PostgreSQL connection per database
    # call cost ~17 ms on the hot paths (handshakes, posts). Persistent connections (CONN_MAX_AGE)
    # are no answer under ASGI: every request runs in a thread of its own, and each would keep one.
    # With CONN_HEALTH_CHECKS Django checks each connection as it leaves the pool, so one broken by an
    # outage is replaced.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("HUB_DB_POOL_MAX", 10),
        # Waiting longer than this for a connection (saturation, or the database unreachable) is an
        # error the caller sees at once (HTTP 503, an `unavailable` error frame), not a hang.
        "timeout": env_int("HUB_DB_POOL_TIMEOUT", 3),
    }
if DATABASES["default"]["ENGINE"].endswith("postgresql") and not env_bool("HUB_DB_JIT", default=False):
    # PostgreSQL's JIT compiles any plan estimated above jit_above_cost before running it: on this
    # project's 2-core machines it spent 2.0-3.3 s compiling the dashboard's message count over 5M
    # messages, a query that runs in 2.5-3.4 s without it (issue 27, docs/benchmarks.md). The hub's
    # queries are short or index-bound; none gained from JIT. HUB_DB_JIT=1 leaves the server's setting.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves a team: daphne runs sync views in a thread pool while the sockets'
    # database threads write read markers and messages. WAL lets readers go on while one writes;
    # IMMEDIATE takes the write lock when a transaction starts, so two writers queue on the busy
    # timeout instead of one failing at once with "database is locked" (a deferred transaction that
    # reads then writes cannot wait: SQLite refuses the upgrade to avoid a deadlock).
    DATABASES["default"].setdefault("OPTIONS", {}).update({
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
    })
# The fan-out hands at most this many frames to sockets before letting the event loop run other work
# (hub/realtime/receiver.py): a batch of events delivered in one go to a thousand sockets held the loop —
# requests, pings, incoming frames — for seconds under daphne; frames to one socket between two
# turns still share a write. 0: after every event.
HUB_FANOUT_YIELD_EVERY = env_int("HUB_FANOUT_YIELD_EVERY", 3000)
# When the fan-out is behind (two fan-outs in a row found events that had waited for the previous one),
# the next starts no sooner than this many times the previous one's length (at least 12 ms) after it ended, so events
# arriving meanwhile reach each socket together (one write, one `batch` frame) instead of one write each,
# and the rest of the loop (senders' frames, persisting, publishing) keeps its share
# (hub/realtime/receiver.py). While the loop keeps up nothing waits. 0: never wait. Applied after every
# long fan-out, 1 doubled hub-uvicorn-1's p50 at 25/s and broke issue 11's p99 guard; applied only when
# behind it keeps the light-load latency (docs/benchmarks.md, "Coalescing when behind").
HUB_FANOUT_COALESCE = float(os.environ.get("HUB_FANOUT_COALESCE", "1"))
# A frame that carries the whole current state of something (a message's reactions: `state` on the
# event, hub.realtime.publisher) waits at most this long for the next event of its topic to share a
# socket write with, and only the newest of one state goes out: a 👍 was a write to every socket of the
# topic of its own (issue 26; docs/benchmarks.md, "State frames"). 0: sent at once, as other events.
HUB_STATE_FRAME_WAIT_SECONDS = float(os.environ.get("HUB_STATE_FRAME_WAIT_SECONDS", "0.2"))
# Sockets that ask for it (`?batch=1`, docs/chat.md) get events that arrive together as one `batch`
# frame of at most this many bytes: one socket write instead of one per event (docs/benchmarks.md).
HUB_WS_BATCH_MAX_BYTES = env_int("HUB_WS_BATCH_MAX_BYTES", 64 * 1024)
# The managers' dashboard's independent queries at once, each on a connection of its own (PostgreSQL;
# reports.selectors.concurrently): how many at most per dashboard. 1: one after another.
HUB_REPORT_CONNECTIONS = env_int("HUB_REPORT_CONNECTIONS", 3)
# Threads doing WebSocket consumers' database work in parallel (hub/realtime/workers.py); keep below the pool.
HUB_WS_DB_THREADS = env_int("HUB_WS_DB_THREADS", 4)
# HTTP requests served at once per process (hub/server/admission.py); the rest wait their turn on the event
# loop. Each admitted request is a thread wanting the GIL: with 20, a burst of 1,000 alerts starved
# the loop under daphne and their frames trailed the answers by 1-2 s. Since a request no longer
# goes back to the loop in its middle (hub/server/http.py), 8 did the same (frames 4-7 s behind); with 4
# every frame leaves before its answer again, and the ticket list and history serve 10-20 % more
# requests per second than with 8 (docs/benchmarks.md, "The HTTP path"). 0 turns it off.
HUB_HTTP_MAX_CONCURRENT = env_int("HUB_HTTP_MAX_CONCURRENT", 4)
# WebSocket handshakes worked on at once per process (hub/server/admission.py): a burst is answered a few
# at a time, each in milliseconds, instead of all together at its end. 0 turns it off.
HUB_WS_MAX_CONCURRENT_HANDSHAKES = env_int("HUB_WS_MAX_CONCURRENT_HANDSHAKES", 16)
# On SIGTERM the hub closes its sockets (1012) and answers the requests inside it before the server
# stops (hub/server/shutdown.py); at most this long.
HUB_GRACEFUL_SHUTDOWN = env_bool("HUB_GRACEFUL_SHUTDOWN", default=True)
HUB_SHUTDOWN_GRACE_SECONDS = float(os.environ.get("HUB_SHUTDOWN_GRACE_SECONDS", "8"))
# Parallel test runs (several developers, CI) on one PostgreSQL need distinct test databases.
if os.environ.get("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DB_NAME"]}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Tests on SQLite use a file, not Django's shared-cache in-memory database: shared cache locks
    # whole tables and fails at once ("database table is locked") when a socket's database thread
    # reads while the test writes, where a file waits out the busy timeout.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.gettempdir()) / f"hub-test-{os.getpid()}.sqlite3")}
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "hub.User"

# --- Channel layer --------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# "pubsub" (RedisPubSubChannelLayer) or "core" (RedisChannelLayer); see docs/channel-layer.md.
CHANNEL_LAYER_KIND = os.environ.get("HUB_CHANNEL_LAYER", "pubsub")
CHANNEL_LAYER_PREFIX = os.environ.get("HUB_CHANNEL_PREFIX", "hub")
# Past one Redis (docs/deployment.md, "Past one Redis"): the channel layer over several Redis servers,
# comma-separated; channels-redis gives each group and channel to one of them by consistent hashing,
# the same in every process (so every process must list the same servers in the same order).
# REDIS_URL keeps the small shared state (rate limits, presence). Unset: REDIS_URL alone.
CHANNEL_REDIS_URLS = env_list("HUB_CHANNEL_REDIS_URLS", [REDIS_URL] if REDIS_URL else [])
if REDIS_URL:
    _hosts: list[dict[str, Any]] = [
        {"address": url, "max_connections": env_int("HUB_REDIS_MAX_CONNECTIONS", 200)} for url in CHANNEL_REDIS_URLS]
    if CHANNEL_LAYER_KIND == "core":
        # Above channels-redis' 5 s blocking read: redis-py's default of 5 s made an idle core-layer
        # receive time out and pause every 5 s.
        for _host in _hosts:
            _host["socket_timeout"] = 15
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": _hosts,
                    "prefix": CHANNEL_LAYER_PREFIX,
                    # One process-wide channel carries a whole process's fan-out (hub.realtime.receiver), so it
                    # needs room for bursts; group membership is refreshed long before it expires.
                    "capacity": env_int("HUB_CHANNEL_CAPACITY", 5000),
                    "expiry": 60,
                    "group_expiry": env_int("HUB_GROUP_EXPIRY", 86400),
                },
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": _hosts, "prefix": CHANNEL_LAYER_PREFIX},
            }
        }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 5000, "expiry": 60},
        }
    }

# --- Auth -------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# How many proxies of this deployment stand in front of the hub, each appending to X-Forwarded-For:
# the client's address is the N-th entry from the right; 0 (the default) ignores the header, since
# any client can write it (hub/lib/client_ip.py). docker-compose's nginx: 1.
HUB_TRUSTED_PROXIES = env_int("HUB_TRUSTED_PROXIES", 0)
# `GET /metrics` (hub/server/metrics.py, docs/deployment.md "Monitoring"): readable with
# `Authorization: Bearer <HUB_METRICS_TOKEN>` or from these addresses/networks (comma-separated, e.g.
# "10.0.0.0/8,127.0.0.1"); with neither set, by nobody.
HUB_METRICS_TOKEN = os.environ.get("HUB_METRICS_TOKEN", "")
HUB_METRICS_ALLOW_FROM = [ipaddress.ip_network(entry, strict=False) for entry in env_list("HUB_METRICS_ALLOW_FROM", [])]
# Login brute-force throttling (django-axes), on the address above: after HUB_LOGIN_FAILURE_LIMIT
# failures a username is locked whatever address the attempts came from, and an address whatever
# usernames it tried, for HUB_LOGIN_COOLOFF_MINUTES. Wrong two-factor codes count as failures too.
# A centre behind one NAT address may prefer HUB_LOGIN_LOCKOUT_BY=username (docs/security.md).
AXES_FAILURE_LIMIT = env_int("HUB_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("HUB_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = env_list("HUB_LOGIN_LOCKOUT_BY", ["username", "ip_address"])
AXES_CLIENT_IP_CALLABLE = "hub.lib.client_ip.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env_bool("HUB_AXES_ENABLED", default=True)
AXES_VERBOSE = False

WS_TICKET_TTL_SECONDS = 60

# Two-factor sign-in (hub/twofactor.py): the roles that must sign in with an authenticator code.
# Production: security officers, managers and hub admins. Under DJANGO_DEBUG (`make run`) none unless
# given, so the demo users sign in with their password alone. Engineers may always enrol themselves.
HUB_2FA_REQUIRED_ROLES = env_list(
    "HUB_2FA_REQUIRED_ROLES", [] if DEBUG else ["security_officer", "manager", "hub_admin"])
OTP_TOTP_ISSUER = os.environ.get("HUB_2FA_ISSUER", "Hub liên trung tâm")

# --- The hub's own public origins (issue 20, class 8) -------------------------------------------
# Where people reach the hub: scheme, host and port, e.g. "https://hub.ttcntt.vn". A WebSocket whose
# `Origin` is not exactly one of these is refused (4403), the CSP's connect-src allows only their
# ws/wss twins, and CSRF trusts them. Unset: `make run` derives them from ALLOWED_HOSTS, HOST's PORT
# and HUB_HTTPS (http://127.0.0.1:8000, http://localhost:8000, http://[::1]:8000); behind a proxy,
# set them to what the browser's address bar shows. HUB_WS_ALLOWED_ORIGINS (older name) adds more.
_HTTPS = env_bool("HUB_HTTPS", default=not DEBUG)
HUB_PUBLIC_ORIGINS = env_list("HUB_PUBLIC_ORIGINS", []) or derive_public_origins(
    ALLOWED_HOSTS, https=_HTTPS, port=env_int("PORT", 8000) if DEBUG else None)
HUB_PUBLIC_ORIGINS += [o for o in env_list("HUB_WS_ALLOWED_ORIGINS", []) if o not in HUB_PUBLIC_ORIGINS]
if any(parse_origin(origin) is None for origin in HUB_PUBLIC_ORIGINS):
    raise ImproperlyConfigured(f"HUB_PUBLIC_ORIGINS must be http(s)://host[:port] origins, not {HUB_PUBLIC_ORIGINS}")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", []) or list(HUB_PUBLIC_ORIGINS)

# --- Limits -----------------------------------------------------------------------------------
HUB_MAX_BODY_BYTES = env_int("HUB_MAX_BODY_BYTES", 16 * 1024)
# The ASGI server's own WebSocket message/frame ceiling (daphne/uvicorn flags, see hub/server/serve.py).
HUB_WS_MAX_MESSAGE_BYTES = env_int("HUB_WS_MAX_MESSAGE_BYTES", 64 * 1024)
# Per-user rate limits (hub/lib/ratelimit.py), token buckets shared by all of a person's sockets and
# requests through Redis: a refusal is 429 + Retry-After, or a `rate_limited` error frame.
# `post`: chat messages and edits, ticket comments, alert summaries (text that reaches others).
HUB_RATE_LIMIT_PER_SECOND = float(os.environ.get("HUB_RATE_LIMIT_PER_SECOND", "5"))
HUB_RATE_LIMIT_BURST = env_int("HUB_RATE_LIMIT_BURST", 20)
# `write`: every unsafe API request and every WebSocket frame that is not declared read-only.
HUB_WRITE_LIMIT_PER_SECOND = float(os.environ.get("HUB_WRITE_LIMIT_PER_SECOND", "5"))
HUB_WRITE_LIMIT_BURST = env_int("HUB_WRITE_LIMIT_BURST", 50)
# `alert`: raising an alert, which reaches every centre: 6 a minute after a burst of 5.
HUB_ALERT_LIMIT_PER_SECOND = float(os.environ.get("HUB_ALERT_LIMIT_PER_MINUTE", "6")) / 60
HUB_ALERT_LIMIT_BURST = env_int("HUB_ALERT_LIMIT_BURST", 5)
# After this many rejected frames in a row a socket is closed (close code 4429).
HUB_ABUSE_CLOSE_AFTER = env_int("HUB_ABUSE_CLOSE_AFTER", 20)
HUB_SYNC_MAX = env_int("HUB_SYNC_MAX", 1000)
# The most people a direct conversation may have, its starter included (issue 26 §1, docs/chat.md).
HUB_CONVERSATION_MAX_MEMBERS = env_int("HUB_CONVERSATION_MAX_MEMBERS", 10)
# Files posted with one chat message (each under the request attachments' size and type rule,
# hub/lib/uploads.py; docs/chat.md "Files and images").
HUB_CHAT_MAX_FILES = env_int("HUB_CHAT_MAX_FILES", 10)
# Free-text query parameters (`?q=`) longer than this are refused with 400 (hub/lib/text.py).
HUB_MAX_QUERY_CHARS = env_int("HUB_MAX_QUERY_CHARS", 400)
# A request body (JSON, form) over this many bytes is refused with 413 before it is parsed; file
# uploads have their own limit (HUB_TICKET_ATTACHMENT_MAX_BYTES).
HUB_MAX_REQUEST_BYTES = env_int("HUB_MAX_REQUEST_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = HUB_MAX_REQUEST_BYTES
# Live sockets re-check their user, token and access this often (control events act at once).
HUB_WS_REVALIDATE_SECONDS = env_int("HUB_WS_REVALIDATE_SECONDS", 30)
# The interpreter's thread switch interval (seconds). Python's default, 5 ms, lets the event loop
# keep the GIL for a whole fan-out slice while the database thread, woken after every round trip,
# waits for it; a shorter interval keeps posting responsive under load (docs/benchmarks.md).
HUB_SWITCH_INTERVAL = float(os.environ.get("HUB_SWITCH_INTERVAL", "0.001"))
# The cyclic garbage collector's first threshold (Python's default: 700 allocations). A process
# holding a thousand sockets' objects paid for full collections in its delivery latency; a higher
# threshold and the start-up objects frozen out of collection keep those pauses rare (benchmarks.md).
HUB_GC_THRESHOLD = env_int("HUB_GC_THRESHOLD", 10_000)

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True
# Vietnamese short date/time formats as the browser writes them for vi-VN (hub/formats/vi).
FORMAT_MODULE_PATH = ["hub.formats"]
# Each app ships its own locale/ folder. This one comes before all of them and before Django's
# contrib apps: the few msgids the hub words its own way everywhere, the admin included ("Save",
# "Delete", "Log out", ...), which contrib catalogues would otherwise translate first (docs/ui.md,
# "Shadowed strings"). The extra locale/ level keeps makemessages from filing hub/'s sources there.
LOCALE_PATHS = [BASE_DIR / "hub" / "locale_overrides" / "locale"]

# --- Static / media ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# Production serves /static/ from the proxy (collectstatic); set this to let the hub serve it itself.
HUB_SERVE_STATIC = env_bool("HUB_SERVE_STATIC", default=False)
MEDIA_ROOT = Path(os.environ.get("HUB_MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"

# --- Email ------------------------------------------------------------------------------------
# Outgoing mail (notify/, docs/notifications.md): `EMAIL_URL` (smtp://user:pass@host:587?tls=1,
# smtps://… for implicit TLS, console://) or `EMAIL_HOST`/`EMAIL_PORT`/`EMAIL_HOST_USER`/
# `EMAIL_HOST_PASSWORD`/`EMAIL_USE_TLS`. No host: the console backend (what `make run` shows).
# Nothing is sent from a request or a socket: services write an outbox row, the worker delivers it.
def _email_from_url(url: str) -> dict:
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme in {"console", "dummy", "locmem"}:
        return {"backend": f"django.core.mail.backends.{parts.scheme}.EmailBackend"}
    if parts.scheme not in {"smtp", "smtps", "submission"}:
        raise ImproperlyConfigured(f"EMAIL_URL: unknown scheme {parts.scheme!r} (smtp, smtps, submission, console)")
    return {
        "backend": "django.core.mail.backends.smtp.EmailBackend",
        "host": parts.hostname or "",
        "port": parts.port or {"smtps": 465, "submission": 587}.get(parts.scheme, 25),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "tls": parts.scheme == "submission" or query.get("tls", "").lower() in {"1", "true", "yes", "on"},
        "ssl": parts.scheme == "smtps" or query.get("ssl", "").lower() in {"1", "true", "yes", "on"},
    }


_email = _email_from_url(os.environ["EMAIL_URL"]) if os.environ.get("EMAIL_URL") else {}
EMAIL_HOST = _email.get("host") or os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = _email.get("port") or env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("user") or os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("password") or os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("tls") or env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = _email.get("ssl") or env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND") or _email.get("backend") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = (os.environ.get("DEFAULT_FROM_EMAIL") or os.environ.get("DJANGO_DEFAULT_FROM_EMAIL")
                      or "hub@hub.example")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Replies to a request's email go to `<local>+r-<token>@<domain>` of this address (notify/tokens.py);
# the mail server must hand that domain's mail to `manage.py run_mail_server` or `receive_email`.
HUB_EMAIL_REPLY_ADDRESS = os.environ.get("HUB_EMAIL_REPLY_ADDRESS", "")
HUB_EMAIL_REPLY_TOKEN_DAYS = env_int("HUB_EMAIL_REPLY_TOKEN_DAYS", 90)
# Zulip's rule: mentions and request changes are emailed only when still unseen in the hub this many
# minutes later, and a person gets at most one such email per HUB_EMAIL_BATCH_MINUTES.
HUB_EMAIL_UNSEEN_MINUTES = env_int("HUB_EMAIL_UNSEEN_MINUTES", 10)
HUB_EMAIL_BATCH_MINUTES = env_int("HUB_EMAIL_BATCH_MINUTES", 15)
HUB_EMAIL_MAX_ATTEMPTS = env_int("HUB_EMAIL_MAX_ATTEMPTS", 8)
# How often the outbox and the webhook queue are looked at (notify/jobs.py), and how long one sending
# pass may take before it leaves the rest to the next (the jobs of every app share one thread).
HUB_EMAIL_SEND_SECONDS = env_int("HUB_EMAIL_SEND_SECONDS", 5)
HUB_EMAIL_SEND_BUDGET_SECONDS = env_int("HUB_EMAIL_SEND_BUDGET_SECONDS", 20)
# Digests leave at this local hour (daily: every day; weekly: on Mondays).
HUB_DIGEST_HOUR = env_int("HUB_DIGEST_HOUR", 7)
# Inbound mail (`manage.py run_mail_server`): where it listens, and the largest message it takes.
HUB_MAIL_SERVER_HOST = os.environ.get("HUB_MAIL_SERVER_HOST", "127.0.0.1")
HUB_MAIL_SERVER_PORT = env_int("HUB_MAIL_SERVER_PORT", 2525)
HUB_INBOUND_MAX_BYTES = env_int("HUB_INBOUND_MAX_BYTES", 25 * 1024 * 1024)

# --- Webhooks -----------------------------------------------------------------------------------
# Targets resolving to loopback, private, link-local … addresses are refused (at registration and
# at every delivery) unless this is set: tests and closed networks only.
HUB_WEBHOOK_ALLOW_PRIVATE = env_bool("HUB_WEBHOOK_ALLOW_PRIVATE", default=False)
HUB_WEBHOOK_CONNECT_TIMEOUT = float(os.environ.get("HUB_WEBHOOK_CONNECT_TIMEOUT", "3"))
HUB_WEBHOOK_TIMEOUT = float(os.environ.get("HUB_WEBHOOK_TIMEOUT", "5"))
HUB_WEBHOOK_MAX_ATTEMPTS = env_int("HUB_WEBHOOK_MAX_ATTEMPTS", 8)
# Receivers called at once by one worker pass (each webhook has at most one delivery in flight).
HUB_WEBHOOK_CONCURRENCY = env_int("HUB_WEBHOOK_CONCURRENCY", 8)

# --- Security headers ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        # Only the hub itself: 'self' for HTTP, and its own origins' ws/wss twins for sockets (not
        # "any ws: host", which let an injected script talk to any socket server).
        "connect-src": ["'self'", *websocket_origins(HUB_PUBLIC_ORIGINS)],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if _HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_SSL_REDIRECT = env_bool("HUB_SSL_REDIRECT", default=True)
    if HUB_TRUSTED_PROXIES > 0:  # only a declared proxy says whether the browser used HTTPS
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("HUB_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- alerts ---------------------------------------------------------------------------------------
# An unacknowledged high/critical alert escalates to the pending centre's managers after this delay,
# and again every further delay up to HUB_ESCALATE_MAX_STEPS times (docs/alerts.md).
HUB_ESCALATE_HIGH_MINUTES = env_int("HUB_ESCALATE_HIGH_MINUTES", 15)
HUB_ESCALATE_CRITICAL_MINUTES = env_int("HUB_ESCALATE_CRITICAL_MINUTES", 5)
HUB_ESCALATE_MAX_STEPS = env_int("HUB_ESCALATE_MAX_STEPS", 3)
# How often the alert escalation job (hub.jobs "alerts.escalate") looks for due escalations.
HUB_WORKER_INTERVAL_SECONDS = float(os.environ.get("HUB_WORKER_INTERVAL_SECONDS", "30"))
# Absolute address of the hub, for links in notifications and emails. `make run` (and
# `python -m hub.server.serve`) set it from HOST/PORT when it is not given; behind a proxy, set it.
HUB_PUBLIC_URL = os.environ.get("HUB_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# --- periodic jobs (hub/jobs.py) -------------------------------------------------------------------
# Every served process runs the periodic jobs on a background thread (the server entry turns this on;
# set 0 to leave them to `manage.py run_worker` alone). Each run happens once across all processes.
HUB_JOBS_IN_SERVER = env_bool("HUB_JOBS_IN_SERVER", default=False)
# How often a runner looks for due jobs (each job has its own period; this is the resolution).
HUB_JOBS_TICK_SECONDS = float(os.environ.get("HUB_JOBS_TICK_SECONDS", "5"))
# A raised alert's notifications, emails and webhook deliveries are written by the job
# `notify.alerts` (notify/jobs.py), which runs this often; a raise wakes its own process's job
# runner to run it this long after the raise (after the last raise of a burst).
HUB_ALERT_NOTIFY_SECONDS = float(os.environ.get("HUB_ALERT_NOTIFY_SECONDS", "1"))
# A burst of raises keeps waking the job runner: it runs once the wakes pause for that second, and
# at the latest this long after the first wake (hub.jobs.Runner._settle).
HUB_JOBS_WAKE_LIMIT_SECONDS = float(os.environ.get("HUB_JOBS_WAKE_LIMIT_SECONDS", "10"))
# One run of `notify.alerts` expands notices for at most this long, then gives the job thread back
# (the other due jobs run: an escalation, the outbox) and runs again at once for the rest.
HUB_ALERT_NOTIFY_SLICE_SECONDS = float(os.environ.get("HUB_ALERT_NOTIFY_SLICE_SECONDS", "0.5"))
# --- end alerts -----------------------------------------------------------------------------------

# --- requests ---------------------------------------------------------------------------------
# Support requests (requests/): the SLA targets and the attachment limits.
# SLA targets in WORKING minutes of the target centre (worktime/: its office hours, Vietnam's public
# holidays, its exceptions), "first response/resolution" per priority; a working day is 450 minutes
# (07:30–11:30, 13:30–17:00). Override one priority with e.g. HUB_TICKET_SLA_URGENT="30/240".
# Defaults: urgent 1 h / 8 h, high 4 h / 3 working days, normal 1 / 5 working days,
# low 3 / 10 working days (docs/tickets.md, "Service levels").


def _sla_pair(name: str, default: tuple[int, int]) -> tuple[int, int]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    first, _, resolution = raw.partition("/")
    try:
        pair = (int(first), int(resolution))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be 'first-response/resolution' working minutes, not {raw!r}") from None
    if min(pair) <= 0:
        raise ImproperlyConfigured(f"{name}: both targets must be positive")
    return pair


REQUESTS_SLA_MINUTES = {
    "urgent": _sla_pair("HUB_TICKET_SLA_URGENT", (60, 480)),
    "high": _sla_pair("HUB_TICKET_SLA_HIGH", (240, 3 * 450)),
    "normal": _sla_pair("HUB_TICKET_SLA_NORMAL", (450, 5 * 450)),
    "low": _sla_pair("HUB_TICKET_SLA_LOW", (3 * 450, 10 * 450)),
}
# "Due soon" once this share of a target's working time is spent (a frame and a history entry).
REQUESTS_SLA_DUE_SOON_SHARE = float(os.environ.get("HUB_TICKET_SLA_DUE_SOON_SHARE", "0.8"))
# How often the SLA watch (hub.jobs "requests.sla") looks for requests due soon or breached.
REQUESTS_SLA_WATCH_SECONDS = float(os.environ.get("HUB_TICKET_SLA_WATCH_SECONDS", "60"))
REQUESTS_ATTACHMENT_MAX_BYTES = env_int("HUB_TICKET_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
REQUESTS_ATTACHMENT_TYPES = env_list(
    "HUB_TICKET_ATTACHMENT_TYPES",
    [
        "application/pdf", "text/plain", "text/csv", "image/png", "image/jpeg", "image/gif",
        "application/zip", "application/json",
        "application/msword", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ],
)
# --- end requests ------------------------------------------------------------------------------

# --- working time (worktime/) ---------------------------------------------------------------------
# The hub's default working week (a centre may have its own in the admin), in TIME_ZONE:
# "mon-fri 07:30-11:30,13:30-17:00" — ranges of days, then comma-separated periods; ";" between groups.
HUB_WORKING_HOURS = os.environ.get("HUB_WORKING_HOURS", "mon-fri 07:30-11:30,13:30-17:00")
# How long a process keeps a centre's calendar before reading it again (changes made elsewhere).
HUB_WORKTIME_CACHE_SECONDS = float(os.environ.get("HUB_WORKTIME_CACHE_SECONDS", "60"))

# --- duty roster (duty/) ---------------------------------------------------------------------------
# The officer may confirm a shift this many minutes before it starts; a shift still unconfirmed this
# many minutes after its start is reported to its deputy and the centre's managers.
HUB_DUTY_CONFIRM_EARLY_MINUTES = env_int("HUB_DUTY_CONFIRM_EARLY_MINUTES", 30)
HUB_DUTY_CONFIRM_GRACE_MINUTES = env_int("HUB_DUTY_CONFIRM_GRACE_MINUTES", 15)
# How often the duty watch job (hub.jobs "duty.watch") looks at shift starts and ends.
HUB_DUTY_WATCH_SECONDS = float(os.environ.get("HUB_DUTY_WATCH_SECONDS", "30"))
# New shifts in the roster page start at this local time and last this many hours by default.
HUB_DUTY_DEFAULT_START = os.environ.get("HUB_DUTY_DEFAULT_START", "07:30")
HUB_DUTY_DEFAULT_HOURS = env_int("HUB_DUTY_DEFAULT_HOURS", 24)
# Read receipts (chat/receipts.py, docs/duty.md): shown on a topic's newest N messages; readers'
# names only while a message has at most this many readers (beyond: counts per centre only).
HUB_RECEIPTS_RECENT = env_int("HUB_RECEIPTS_RECENT", 50)
HUB_RECEIPTS_MAX_NAMES = env_int("HUB_RECEIPTS_MAX_NAMES", 20)
# Presence (chat/presence.py, docs/chat.md): people online are named only while a topic has at most
# this many (beyond: counts per centre). The frame goes to every socket of the topic at every change,
# so its names grow as online² (5,000 people connecting: ~300 KB to each of 5,000 sockets per frame).
HUB_PRESENCE_MAX_NAMES = env_int("HUB_PRESENCE_MAX_NAMES", 100)
# Events (docs/duty.md): registrants are reminded this many hours before an event starts.
HUB_EVENT_REMIND_HOURS = env_int("HUB_EVENT_REMIND_HOURS", 24)
HUB_EVENT_REMIND_SECONDS = float(os.environ.get("HUB_EVENT_REMIND_SECONDS", "300"))
# --- end duty ------------------------------------------------------------------------------------
