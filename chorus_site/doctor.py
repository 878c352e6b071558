"""The setup check: `chorus doctor` and the overview's Setup panel say the same lines, each ok, warn or fail with
what to do. tmux, the profiles' agent CLIs and their versions, whether each profile's own signals can work (the
profile's self-report plug-in says, for the agent's HOME), the desktop notifier, the data directory and the
database, the port, read-only mode.

It only looks: it starts no agent and changes nothing. What it runs (`tmux -V`, `PROGRAM --version`) and where it
looks for programs come through a Probe, so the lines are tested without those programs.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

from sessions_app.agents import DEFAULT_PROFILE
from sessions_app.catalog import load_profiles
from sessions_app.notify import Notifier
from sessions_app.profiles import Profile, ProfileConfigError, command_name, is_shell

OK, WARN, FAIL = "ok", "warn", "fail"
VERSION_SECONDS = 10
VERSION_CHARS = 80
# The page asks often (each look at the overview's panel); the programs' versions do not change that fast.
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class Finding:
    topic: str
    level: str
    detail: str
    advice: str = ""


class Probe:
    """How the check finds programs and asks their versions (replaced in tests)."""

    def which(self, program: str, path: str | None = None) -> str | None:
        return shutil.which(program, path=path)

    def version(self, argv: list[str]) -> str:
        """The first line the program prints for its version; "" when it prints none in time."""
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=VERSION_SECONDS, stdin=subprocess.DEVNULL, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        for line in (done.stdout + "\n" + done.stderr).splitlines():
            if line.strip():
                return line.strip()[:VERSION_CHARS]
        return ""

    def port_answer(self, host: str, port: int) -> str | None:
        """None when nothing listens on the port; else the title of what answers /login/ there ("" for none)."""
        try:
            with socket.create_connection((host, port), timeout=2):
                pass
        except OSError:
            return None
        try:
            client = http.client.HTTPConnection(host, port, timeout=3)
            client.request("GET", "/login/", headers={"Host": f"{host}:{port}"})
            body = client.getresponse().read(65536).decode(errors="replace")
        except (OSError, http.client.HTTPException):
            return ""
        title = body.partition("<title>")[2].partition("</title>")[0]
        return title.strip()


def diagnose(probe: Probe | None = None, serving: bool = False) -> list[Finding]:
    """Every line of the check, in the order people read them. `serving`: asked by the web server itself (the
    port is its own)."""
    probe = probe or Probe()
    findings = [_tmux(probe)]
    findings += _agents(probe)
    findings += [_notifier(probe), _data_dir(), _database(), _port(probe, serving), _read_only()]
    return findings


def failed(findings: list[Finding]) -> bool:
    return any(finding.level == FAIL for finding in findings)


_cached: tuple[float, list[Finding]] | None = None


def cached_diagnosis(clock: Callable[[], float] = time.monotonic) -> list[Finding]:
    """The web server's check, asked again at most every CACHE_SECONDS."""
    global _cached
    now = clock()
    if _cached is None or now - _cached[0] >= CACHE_SECONDS:
        _cached = (now, diagnose(serving=True))
    return _cached[1]


# --- The lines ------------------------------------------------------------------------------------------------


def _tmux(probe: Probe) -> Finding:
    path = probe.which("tmux")
    if path is None:
        return Finding(
            "tmux",
            FAIL,
            "not installed",
            "install it: `sudo apt-get install tmux` (Debian/Ubuntu) or `brew install tmux`",
        )
    return Finding("tmux", OK, f"{probe.version([path, '-V']) or 'version unknown'} ({path})")


def _agents(probe: Probe) -> list[Finding]:
    try:
        profiles = load_profiles(settings.PROJECT_ROOT)
    except ProfileConfigError as exc:
        return [Finding("profiles", FAIL, str(exc), "fix the profile file it names")]
    agents = {name: p for name, p in sorted(profiles.items()) if p.command and not is_shell(command_name(p.command[0]))}
    paths = {name: probe.which(p.command[0], path=p.environment.get("PATH")) for name, p in agents.items()}
    programs = sorted({path for path in paths.values() if path})
    with ThreadPoolExecutor(max_workers=4) as pool:
        versions = dict(zip(programs, pool.map(lambda path: probe.version([path, "--version"]), programs), strict=True))
    findings = []
    for name, profile in agents.items():
        path = paths[name]
        topic = f"agent {name}"
        if path is None:
            advice = f"install {profile.command[0]}, or pick another profile"
            if name == DEFAULT_PROFILE:
                advice += " (it is the New session form's default)"
            findings.append(Finding(topic, WARN, f"{profile.command[0]} is not installed (not on PATH)", advice))
            continue
        findings.append(Finding(topic, OK, f"{versions[path] or 'version unknown'} ({path})"))
        findings += _signals(topic, profile)
    if agents and not any(paths.values()):
        findings.append(
            Finding("agents", FAIL, "no profile's agent is installed", "install an agent CLI (Claude Code, Codex, ...)")
        )
    return findings


def _signals(topic: str, profile: Profile) -> list[Finding]:
    """What the profile's self-report plug-in and signal check say of its signals, in the environment its agent
    runs with (its own HOME, not Chorus's)."""
    environment = profile.agent_environment()
    checks = profile.self_report.readiness(environment) if profile.self_report is not None else []
    if profile.signal_check is not None:
        checks += profile.signal_check(environment)
    return [Finding(f"{topic} signals", OK if check.ok else WARN, check.detail, check.advice) for check in checks]


def _notifier(probe: Probe) -> Finding:
    configured = settings.CHORUS_NOTIFY
    if configured in ("off", "log"):
        return Finding("notifier", OK, f"no desktop notices (CHORUS_NOTIFY={configured})")
    backend = Notifier(configured).backend
    if backend == "log":
        advice = "install notify-send (`sudo apt-get install libnotify-bin`) to get desktop notices"
        return Finding("notifier", WARN, "no desktop notifier found: notices go to the log", advice)
    if probe.which(backend) is None:
        return Finding(
            "notifier", FAIL, f"CHORUS_NOTIFY={backend} is not installed", "install it or set CHORUS_NOTIFY=auto"
        )
    return Finding("notifier", OK, f"desktop notices through {backend}")


def _data_dir() -> Finding:
    directory = Path(settings.DATA_DIR)
    if not os.access(directory, os.W_OK | os.X_OK):
        return Finding("data dir", FAIL, f"{directory} is not writable", "make it writable, or set CHORUS_DATA_DIR")
    return Finding("data dir", OK, str(directory))


def _database() -> Finding:
    from django.db.migrations.executor import MigrationExecutor

    name = settings.DATABASES["default"]["NAME"]
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return Finding("database", FAIL, f"{name}: {exc}", "check the file and its directory (CHORUS_DATABASE)")
    if pending:
        return Finding(
            "database",
            FAIL,
            f"{name}: {len(pending)} migrations not applied",
            "run `python3 chorus.py migrate` (`start` migrates too)",
        )
    return Finding("database", OK, f"{name} (migrated)")


def _port(probe: Probe, serving: bool) -> Finding:
    host, port = settings.CHORUS_HOST, settings.CHORUS_PORT
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if serving:
        return Finding("port", OK, f"serving on {shown}")
    answer = probe.port_answer(host, port)
    if answer is None:
        return Finding("port", OK, f"{shown} is free: `start` listens there")
    if "Chorus" in answer:
        return Finding("port", OK, f"Chorus is running on {shown}")
    return Finding("port", FAIL, f"{shown} is in use by another program", "choose another port with PORT=...")


def _read_only() -> Finding:
    if settings.CHORUS_READ_ONLY:
        return Finding(
            "read-only", WARN, "on: pages, the API and commands change nothing", "unset CHORUS_READ_ONLY to act"
        )
    return Finding("read-only", OK, "off")
