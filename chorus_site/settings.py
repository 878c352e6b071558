"""Django settings for Chorus; every knob comes from the environment (see README, Configuration)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from chorus_site import config
from events_app.database import database_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_ROOT = config.project_root()
DATA_DIR = config.data_dir(PROJECT_ROOT)
# Private at every start, before a secret in it is read (config.secure_data_dir refuses another user's directory).
config.secure_data_dir(DATA_DIR)

SECRET_KEY = os.environ.get("CHORUS_SECRET_KEY") or config.read_or_create_secret(DATA_DIR / "secret_key", 48)
# The token that logs a browser in and authenticates API clients (Authorization: Bearer ...).
CHORUS_TOKEN = os.environ.get("CHORUS_TOKEN") or config.read_or_create_secret(DATA_DIR / "token")
# The file the token is kept in: every process reads it again when it changes (`chorus token rotate`), so
# chorus_site.auth.current_token() is the token in force and CHORUS_TOKEN the one at start. None: CHORUS_TOKEN is
# fixed by the environment.
CHORUS_TOKEN_FILE = None if os.environ.get("CHORUS_TOKEN") else DATA_DIR / "token"
DEBUG = config.env_bool("CHORUS_DEBUG", False)

CHORUS_HOST = config.bind_host()
CHORUS_PORT = config.port()
# Extra names the Host header may carry: a proxy's public name, in front of a loopback bind (a TLS proxy on the same
# machine) or of a remote one.
ALLOWED_HOSTS = [
    *([*config.LOOPBACK_HOSTS, "[::1]"] if CHORUS_HOST in config.LOOPBACK_HOSTS else [CHORUS_HOST]),
    *[h.strip() for h in os.environ.get("CHORUS_ALLOWED_HOSTS", "").split(",") if h.strip()],
]
EDITOR = os.environ.get("EDITOR", "vi")
# Where agents reach Chorus's MCP server (/mcp/ on this web server): the address their tools loaders write into
# each agent's configuration. Set it when agents must use another name for this server than its bind address.
CHORUS_MCP_URL = os.environ.get("CHORUS_MCP_URL") or (
    f"http://{f'[{CHORUS_HOST}]' if ':' in CHORUS_HOST else CHORUS_HOST}:{CHORUS_PORT}/mcp/"
)
# Where the worker reaches this web server to relay the browser terminals of its host's panes (sessions_app.relay).
CHORUS_WEB_URL = os.environ.get("CHORUS_WEB_URL") or (
    f"http://{f'[{CHORUS_HOST}]' if ':' in CHORUS_HOST else CHORUS_HOST}:{CHORUS_PORT}"
)
# The per-session rate limit of the agent tools (MCP and twins alike): at most this many calls in this many seconds.
CHORUS_AGENT_MAX_CALLS = config.env_int("CHORUS_AGENT_MAX_CALLS", 60)
CHORUS_AGENT_CALL_SECONDS = float(os.environ.get("CHORUS_AGENT_CALL_SECONDS", "60"))

# No "daphne" app: it only replaces `runserver`, and importing it (Twisted, autobahn) cost every command a second.
# `start` runs daphne itself (chorus_site.webserver). The admin without its discovery at start-up: its modules
# import the apps' services, which a command does not need; the URLconf discovers them (chorus_site/urls.py).
INSTALLED_APPS = [
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "chorus_site",
    "events_app",
    "sessions_app",
    "tasks_app",
    "documents_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "chorus_site.auth.TokenAuthMiddleware",
    "chorus_site.auth.ReadOnlyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "chorus_site.urls"
ASGI_APPLICATION = "chorus_site.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

# SQLite for several writing processes (web, worker, commands): WAL lets readers run beside the writer,
# IMMEDIATE takes the write lock at BEGIN so two writers queue on the busy timeout instead of failing with
# "database is locked" on a lock upgrade, and synchronous=NORMAL is durable in WAL except for power loss.
DATABASE_PATH = Path(os.environ.get("CHORUS_DATABASE") or DATA_DIR / "chorus.sqlite3")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATABASE_PATH,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; "
                "PRAGMA foreign_keys=ON; PRAGMA cache_size=-20000;"
            ),
        },
        "TEST": {"NAME": os.environ.get("CHORUS_TEST_DATABASE") or None},
    }
}
# CHORUS_DATABASE_URL (postgresql://...) puts the event log and read models in PostgreSQL, shared by every host.
CHORUS_DATABASE_URL = os.environ.get("CHORUS_DATABASE_URL", "")
if CHORUS_DATABASE_URL:
    DATABASES["default"] = {
        **database_from_url("CHORUS_DATABASE_URL", CHORUS_DATABASE_URL),
        "TEST": {"NAME": os.environ.get("CHORUS_TEST_DATABASE") or None},
    }
else:
    config.secure_database(DATABASE_PATH)
# The event log's signed anchor, kept outside the database (events_app.anchors; its key `anchor_key` beside it).
CHORUS_ANCHOR_FILE = DATA_DIR / "anchor"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# How often each ASGI process looks for events committed by other processes (seconds).
CHORUS_FOLLOW_INTERVAL = float(os.environ.get("CHORUS_FOLLOW_INTERVAL", "0.1"))

# Read-only mode: every page and API read works; nothing types into a terminal or changes state.
CHORUS_READ_ONLY = config.env_bool("CHORUS_READ_ONLY", False)
# Bounded request bodies: a message or description larger than this is refused before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = config.env_int("CHORUS_MAX_REQUEST_BYTES", 2_000_000)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

SESSION_COOKIE_NAME = f"chorus_session_{CHORUS_PORT}"
CSRF_COOKIE_NAME = f"chorus_csrf_{CHORUS_PORT}"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
LOGIN_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CHORUS_LOG_LEVEL", "INFO")},
    # The MCP SDK logs every stateless request at INFO.
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "mcp": {"level": "WARNING"},
    },
}

# Background jobs of the worker (`manage.py run_worker`), each a class with interval/start/tick/stop.
# The worker policies (events_app.policies) follow the log; each app adds its own jobs below.
CHORUS_WORKER_JOBS: list[str] = ["events_app.policies.PolicyRunner", "sessions_app.worker.SessionMonitor"]
CHORUS_WORKER_JOBS.append("sessions_app.relay.TerminalRelay")

# Hosts (sessions_app.hosts): the host this process's worker owns (its tmux server and the sessions started on it),
# and how long after its worker's last heartbeat (seconds) a host counts as offline.
CHORUS_HOST_NAME = os.environ.get("CHORUS_HOST_NAME") or socket.gethostname()
CHORUS_HOST_OFFLINE_SECONDS = float(os.environ.get("CHORUS_HOST_OFFLINE_SECONDS", "10"))
# How long a page, the API or a command waits for a host's worker to carry out its request (seconds); after it,
# the request stays pending (and can be cancelled). Inline: this process calls tmux for its own host's sessions
# itself instead of asking its worker (tests and one-process tools; never a web server of a fleet).
CHORUS_REQUEST_WAIT = float(os.environ.get("CHORUS_REQUEST_WAIT", "15"))
CHORUS_REQUESTS_INLINE = config.env_bool("CHORUS_REQUESTS_INLINE", False)
# First: a worker refused its host name (hosts.HostTaken) starts no other job.
CHORUS_WORKER_JOBS.insert(0, "sessions_app.hosts.Heartbeat")
CHORUS_WORKER_JOBS.insert(1, "sessions_app.worker.RequestRunner")

# tmux server the sessions live on: empty = the user's default server (so `tmux attach -t NAME` just works),
# a name = `tmux -L NAME`, a path = `tmux -S PATH`.
CHORUS_TMUX_SOCKET = os.environ.get("CHORUS_TMUX_SOCKET", "")
# Seconds between two looks at every pane by the worker.
CHORUS_POLL_INTERVAL = float(os.environ.get("CHORUS_POLL_INTERVAL", "0.25"))
# Desktop notifications: auto (notify-send, osascript, else a log line), notify-send, osascript, log, off.
CHORUS_NOTIFY = os.environ.get("CHORUS_NOTIFY", "auto")
# The largest message Chorus types into an agent, in characters.
CHORUS_MAX_MESSAGE_CHARS = config.env_int("CHORUS_MAX_MESSAGE_CHARS", 100_000)
# Usage limits (sessions_app.limits): seconds after an agent's announced reset before its continue message is
# queued (its provider's clock and ours differ), and that message (typed once through the outbox).
CHORUS_LIMIT_MARGIN = config.env_int("CHORUS_LIMIT_MARGIN", 120)
CHORUS_CONTINUE_MESSAGE = os.environ.get("CHORUS_CONTINUE_MESSAGE", "continue")

# Documents under PROJECT_ROOT: gitignore-style globs (comma-separated) choosing which files are documents, and the
# largest file read as one, in bytes. The worker watches the tree for their changes.
CHORUS_DOCUMENT_GLOBS = [
    glob.strip()
    for glob in (os.environ.get("CHORUS_DOCUMENT_GLOBS") or "*.md,*.markdown,*.rst,*.txt").split(",")
    if glob.strip()
]
CHORUS_DOCUMENT_MAX_BYTES = config.env_int("CHORUS_DOCUMENT_MAX_BYTES", 2 * 1024 * 1024)
# The hosts whose workers discover and watch documents in their checkout (comma-separated; empty = every host).
CHORUS_DOCUMENT_HOSTS = [
    host.strip() for host in os.environ.get("CHORUS_DOCUMENT_HOSTS", "").split(",") if host.strip()
]
CHORUS_WORKER_JOBS.append("documents_app.watcher.DocumentWatcher")

# Tasks: at most this many tasks assigned or in progress at once; the prompt template (a file, see
# tasks_app/prompts.py; empty = the built-in layout); seconds between the worker's looks for delivered prompts never
# seen at work; how long a delivered prompt's session must stay idle, never seen busy, before its task goes to review.
CHORUS_MAX_ACTIVE_TASKS = config.env_int("CHORUS_MAX_ACTIVE_TASKS", 4)
CHORUS_PROMPT_TEMPLATE = os.environ.get("CHORUS_PROMPT_TEMPLATE", "")
# Where tasks with isolation "worktree" get their git worktree (one directory per task, outside the project's tree).
CHORUS_WORKTREE_DIR = Path(os.environ.get("CHORUS_WORKTREE_DIR") or DATA_DIR / "worktrees")
CHORUS_TASK_INTERVAL = float(os.environ.get("CHORUS_TASK_INTERVAL", "1.0"))
CHORUS_TASK_QUIET_SECONDS = float(os.environ.get("CHORUS_TASK_QUIET_SECONDS", "10"))
CHORUS_WORKER_JOBS.append("tasks_app.worker.QuietPeriod")
# Approval policies (design.md 5f.1) answer the permission dialogs of agents without a permission hook on screen.
CHORUS_WORKER_JOBS.append("tasks_app.worker.DialogApprovals")
# Path claims (design.md 5e.1): an unclaimed path edited by a session's agent through its file tools is claimed for
# the session's task at work.
CHORUS_CLAIMS_AUTO = config.env_bool("CHORUS_CLAIMS_AUTO", True)
# Seconds between the worker's rounds of change attribution (git runs in a round only when something could have
# changed); 0 turns attribution off.
CHORUS_ATTRIBUTION_INTERVAL = float(os.environ.get("CHORUS_ATTRIBUTION_INTERVAL", "3"))
if CHORUS_ATTRIBUTION_INTERVAL > 0:
    CHORUS_WORKER_JOBS.append("tasks_app.worker.ChangeWatch")

# Usage and cost: seconds between the worker's reads of the agents' records (transcripts, rollouts); the prices file
# (empty: <data dir>/prices.toml if it exists, else the shipped table); budgets in dollars, per task and per day
# (empty: off), whose crossing pauses dispatch.
CHORUS_USAGE_INTERVAL = float(os.environ.get("CHORUS_USAGE_INTERVAL", "5"))
CHORUS_PRICES = os.environ.get("CHORUS_PRICES", "")
CHORUS_TASK_BUDGET = config.env_dollars("CHORUS_TASK_BUDGET")
CHORUS_DAILY_BUDGET = config.env_dollars("CHORUS_DAILY_BUDGET")
CHORUS_WORKER_JOBS.append("tasks_app.worker.UsageMeter")
