"""`manage.py start`: migrate, then run the web server (daphne) and the worker together until Ctrl-C; a child that
dies is started again (chorus_site/supervisor.py)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from chorus_site import config
from chorus_site.accounts import ensure_admin_user
from chorus_site.auth import current_token
from chorus_site.commandline import command_line
from chorus_site.supervisor import Child, GaveUp, Supervisor
from events_app.commands import DomainCommand

MANAGE = Path(settings.BASE_DIR) / "manage.py"
# daphne, with the token kept out of its access log
WEB_SERVER = "chorus_site.webserver"
# How long `start` waits for the web server to answer before it prints the login URL anyway.
STARTUP_WAIT = 60.0


def _answers(host: str, port: int) -> bool:
    """Whether the web server answers an HTTP request (any status) on host:port."""
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/login/")
        connection.getresponse()
    except OSError:
        return False
    finally:
        connection.close()
    return True


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


class Command(DomainCommand):
    help = "Start Chorus: apply migrations, then run the web server and the worker; print the login URL."
    requires_system_checks = "__all__"  # once, for a process that runs for hours

    def add_arguments(self, parser):
        parser.add_argument("--no-worker", action="store_true", help="run the web server only")

    def handle(self, *args, **options):
        host, port = settings.CHORUS_HOST, settings.CHORUS_PORT
        if host not in config.LOOPBACK_HOSTS and not config.env_bool("CHORUS_ALLOW_REMOTE", False):
            raise CommandError(
                f"refusing to listen on {host}: Chorus types into terminals; set CHORUS_ALLOW_REMOTE=1 to allow it"
            )
        if not _port_free(host, port):
            raise CommandError(f"port {port} on {host} is in use; choose another with PORT=...")
        call_command("migrate", interactive=False, verbosity=0)
        password = ensure_admin_user()
        env = dict(os.environ, PROJECT_ROOT=str(settings.PROJECT_ROOT), CHORUS_DATA_DIR=str(settings.DATA_DIR))
        supervisor = Supervisor(
            [
                Child(
                    "web server",
                    [sys.executable, "-m", WEB_SERVER, "-b", host, "-p", str(port), "chorus_site.asgi:application"],
                    env=env,
                    cwd=str(settings.BASE_DIR),
                ),
                *([] if options["no_worker"] else [Child("worker", [sys.executable, str(MANAGE), "run_worker"], env)]),
            ],
            log=self._log,
            clock=time.monotonic,
        )
        stopping = False

        def stop(*_args):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        supervisor.start()
        failure = None
        try:
            # The login URL is printed once the web server answers, so that a click on it at once is not refused.
            deadline = time.monotonic() + STARTUP_WAIT
            while not stopping and not _answers(host, port) and time.monotonic() < deadline:
                supervisor.check()
                time.sleep(0.05)
            if not stopping:
                self._started(host, port, password, answered=time.monotonic() < deadline)
            while not stopping:
                supervisor.check()
                time.sleep(0.2)
        except GaveUp as exc:
            failure = str(exc)
        finally:
            supervisor.stop()
        if failure:
            raise CommandError(failure)

    def _started(self, host: str, port: int, password: str | None, answered: bool) -> None:
        shown_host = f"[{host}]" if ":" in host else host
        self.stdout.write(
            f"Chorus is running for {settings.PROJECT_ROOT}\n"
            f"  open   {config.login_url(host, port, current_token())}"
            + ("" if answered else f" (the web server has not answered within {STARTUP_WAIT:.0f} s)")
            + f"\n  data   {settings.DATA_DIR}\n"
            f"  admin  http://{shown_host}:{port}/admin/ (user admin"
            + (f", password {password} — shown once, kept in the data directory)" if password else ")")
            + f"\n  commands  {command_line('help')}"
            + "\nPress Ctrl-C to stop."
        )
        self.stdout.flush()

    def _log(self, message: str) -> None:
        self.stderr.write(f"{time.strftime('%H:%M:%S')} chorus: {message}")
        self.stderr.flush()
