import json
import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from chorus_site import auth, config, webserver
from tests.support import ROOT

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return Client(HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}")


def test_read_only_mode_refuses_every_change_but_shows_everything(api, settings):
    settings.CHORUS_READ_ONLY = True
    assert api.get("/api/health").status_code == 200
    refused = api.post("/api/sessions", {"name": "x"}, content_type="application/json")
    assert refused.status_code == 403 and "read-only" in refused.json()["detail"]
    assert api.delete("/api/sessions/x").status_code == 403
    browser = Client()
    assert browser.get(f"/login/?token={settings.CHORUS_TOKEN}").status_code == 302
    csrf = browser.cookies[settings.CSRF_COOKIE_NAME].value if settings.CSRF_COOKIE_NAME in browser.cookies else ""
    assert browser.post("/", {"csrfmiddlewaretoken": csrf}).status_code == 403


def test_oversized_bodies_are_refused(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/sessions/x/messages", {"text": "x" * 5000}, content_type="application/json")
    assert response.status_code == 413
    assert "at most 1000 bytes" in response.json()["detail"]


def test_security_headers_are_sent(api):
    response = api.get("/api/health")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.integration
def test_check_deploy_passes_with_the_production_settings(subprocess_env, tmp_path):
    env = {
        **subprocess_env,
        "DJANGO_SETTINGS_MODULE": "chorus_site.settings_production",
        "CHORUS_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


# --- the data directory is private (issue 15, item 3) ----------------------------------------------------------


def _mode(path) -> int:
    return os.lstat(path).st_mode & 0o777


def test_an_open_data_directory_and_its_files_are_made_private(tmp_path):
    data = tmp_path / "data"
    (data / "hooks" / "agent").mkdir(parents=True)
    for path in (data, data / "hooks", data / "hooks" / "agent"):
        path.chmod(0o755)
    for name in ("token", "chorus.sqlite3", "hooks/agent/status.json"):
        (data / name).write_text("x")
        (data / name).chmod(0o644)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    (data / "link").symlink_to(outside)

    config.secure_data_dir(data)

    assert [_mode(p) for p in (data, data / "hooks", data / "hooks" / "agent")] == [0o700] * 3
    assert [_mode(data / name) for name in ("token", "chorus.sqlite3", "hooks/agent/status.json")] == [0o600] * 3
    assert _mode(outside) == 0o644


def test_a_program_in_the_data_directory_stays_runnable_and_the_task_worktrees_are_left_as_git_made_them(tmp_path):
    data = tmp_path / "data"
    shim = data / "agents" / "alice" / "bin" / "chorus"
    script = data / "worktrees" / "task-1" / "run.sh"
    for path in (shim, script):
        path.parent.mkdir(parents=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    (data / "worktrees").chmod(0o755)

    config.secure_data_dir(data)

    assert _mode(shim) == 0o700
    assert _mode(data / "worktrees") == 0o700
    assert _mode(script) == 0o755 and _mode(script.parent) == 0o755


def test_a_missing_data_directory_is_made_private(tmp_path):
    config.secure_data_dir(tmp_path / "new" / "data")
    assert _mode(tmp_path / "new" / "data") == 0o700


def test_a_data_directory_of_another_user_is_refused_in_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "token").write_text("planted")
    with pytest.raises(SystemExit) as refused:
        config.secure_data_dir(data, uid=os.stat(data).st_uid + 1)
    message = str(refused.value)
    assert "\n" not in message and str(data) in message
    assert f"uid {os.stat(data).st_uid}" in message and "refusing to start" in message
    assert _mode(data) == 0o755


def test_the_database_file_is_made_before_sqlite_opens_it_and_its_wal_and_shm_follow(tmp_path):
    database = tmp_path / "elsewhere" / "chorus.sqlite3"
    database.parent.mkdir()
    config.secure_database(database)
    assert _mode(database) == 0o600
    previous = os.umask(0o022)
    try:
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (x)")
        connection.commit()
        assert [_mode(f"{database}{suffix}") for suffix in ("", "-wal", "-shm")] == [0o600] * 3
        connection.close()
    finally:
        os.umask(previous)


def test_an_existing_database_and_its_leftover_wal_and_shm_are_tightened(tmp_path):
    database = tmp_path / "chorus.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").write_bytes(b"")
        os.chmod(f"{database}{suffix}", 0o644)
    config.secure_database(database)
    assert [_mode(f"{database}{suffix}") for suffix in ("", "-wal", "-shm")] == [0o600] * 3


@pytest.mark.integration
def test_every_start_makes_an_open_data_directory_private_wal_and_shm_included(tmp_path, subprocess_env):
    """A data directory made 0755 beforehand, with a 0644 token: after `migrate` and while a real server writes
    (a login stores a session), the directory is 0700 and every file in it 0600, SQLite's -wal and -shm too."""
    from tests.support import ServerProcess, free_port

    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "token").write_text("known-token\n")
    (data / "token").chmod(0o644)
    env = {**subprocess_env, "CHORUS_DATA_DIR": str(data), "PROJECT_ROOT": str(tmp_path)}
    env.pop("CHORUS_DATABASE")
    migrated = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert migrated.returncode == 0, migrated.stderr
    data.chmod(0o755)
    (data / "chorus.sqlite3").chmod(0o644)
    # Held open across the server's start, so the -wal and -shm (made 0644 beside the 0644 database) are there to
    # be tightened, and stay while the server writes (SQLite removes them when its last connection closes).
    reader = sqlite3.connect(data / "chorus.sqlite3")
    reader.execute("SELECT count(*) FROM chorus_event").fetchall()
    assert _mode(data / "chorus.sqlite3-wal") == 0o644
    server = ServerProcess(env, free_port(), "known-token")
    try:
        server.session_cookie()
        files = sorted(path.name for path in data.iterdir())
        assert {"chorus.sqlite3", "chorus.sqlite3-wal", "chorus.sqlite3-shm", "token", "secret_key"} <= set(files)
        assert _mode(data) == 0o700
        assert {name: _mode(data / name) for name in files} == dict.fromkeys(files, 0o600)
    finally:
        server.stop()
        reader.close()


@pytest.mark.integration
def test_a_data_directory_owned_by_someone_else_stops_every_command_in_one_line(tmp_path, subprocess_env):
    if os.geteuid() == 0:
        data = tmp_path / "data"
        data.mkdir()
        os.chown(data, 65534, -1)
    else:
        data = Path("/")  # owned by root, not by this user
    env = {**subprocess_env, "CHORUS_DATA_DIR": str(data)}
    env.pop("CHORUS_DATABASE")
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert str(data) in result.stderr and f"uid {os.stat(data).st_uid}" in result.stderr
    assert not (data / "token").exists()


# --- a browser's session is bound to the token it logged in with (issue 15, item 5) ---------------------------


@pytest.fixture
def token_file(tmp_path, settings):
    """A token file of the test's own, as the data directory's: rotating it leaves the suite's token alone."""
    path = tmp_path / "token"
    config.read_or_create_secret(path)
    settings.CHORUS_TOKEN_FILE = path
    return path


def _logged_in(token: str) -> Client:
    browser = Client()
    assert browser.get(f"/login/?token={token}").status_code == 302
    return browser


def test_a_session_keeps_a_fingerprint_of_its_token_never_the_token(token_file):
    token = token_file.read_text().strip()
    browser = _logged_in(token)
    stored = Session.objects.get(pk=browser.session.session_key)
    assert token not in stored.session_data and token not in json.dumps(stored.get_decoded())


def test_rotating_the_token_ends_every_session_and_bearer_made_with_the_old_one_at_once(token_file):
    old = token_file.read_text().strip()
    browser = _logged_in(old)
    assert browser.get("/api/health").status_code == 200

    new = config.replace_secret(token_file)

    assert new != old and token_file.read_text().strip() == new and _mode(token_file) == 0o600
    assert browser.get("/api/health").status_code == 401
    assert browser.get("/", HTTP_ACCEPT="text/html").status_code == 401
    assert Client(HTTP_AUTHORIZATION=f"Bearer {old}").get("/api/health").status_code == 401
    assert Client().get(f"/login/?token={old}").status_code == 403
    assert Client(HTTP_AUTHORIZATION=f"Bearer {new}").get("/api/health").status_code == 200
    assert _logged_in(new).get("/api/health").status_code == 200


def test_a_session_made_before_sessions_were_bound_must_log_in_again(token_file):
    browser = Client()
    session = browser.session
    session[auth.SESSION_KEY] = True
    session.save()
    browser.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    assert browser.get("/api/health").status_code == 401


def test_a_websocket_of_a_session_made_with_an_old_token_is_not_authenticated(token_file):
    browser = _logged_in(token_file.read_text().strip())
    scope = {"type": "websocket", "headers": [], "session": browser.session}
    assert auth.scope_is_authenticated(scope)
    config.replace_secret(token_file)
    assert not auth.scope_is_authenticated(scope)


def test_a_missing_or_empty_token_file_lets_nobody_in(token_file):
    token = token_file.read_text().strip()
    token_file.write_text("\n")
    assert Client(HTTP_AUTHORIZATION="Bearer ").get("/api/health").status_code == 401
    token_file.unlink()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/health").status_code == 401


def test_token_rotate_prints_the_new_login_url_and_show_the_current_one(token_file):
    old = token_file.read_text().strip()
    rotated = StringIO()
    call_command("token", "rotate", stdout=rotated)
    new = token_file.read_text().strip()
    assert new != old
    url = f"http://127.0.0.1:{settings.CHORUS_PORT}/login/?token={new}"
    assert url in rotated.getvalue() and old not in rotated.getvalue()
    shown = StringIO()
    call_command("token", "show", "--json", stdout=shown)
    assert json.loads(shown.getvalue()) == {"login_url": url}


def test_token_rotate_refuses_a_token_fixed_by_the_environment(settings):
    settings.CHORUS_TOKEN_FILE = None
    with pytest.raises(CommandError, match="CHORUS_TOKEN"):
        call_command("token", "rotate")


# --- the token never reaches the access log (issue 15, item 6) ------------------------------------------------


@pytest.mark.parametrize(
    "path, logged",
    [
        ("/login/?token=s3cret", "/login/?token=[redacted]"),
        ("/login/?next=/tasks/&token=s3cret&x=1", "/login/?next=/tasks/&token=[redacted]&x=1"),
        ("/login/?%74oken=s3cret&token=again", "/login/?%74oken=[redacted]&token=[redacted]"),
        ("/login/?tokens=kept&token", "/login/?tokens=kept&token"),
        ("/api/health", "/api/health"),
    ],
)
def test_the_access_log_shows_every_path_without_its_token(path, logged):
    assert webserver.redact(path) == logged


def test_files_that_come_and_go_while_the_data_directory_is_tightened_are_no_error(tmp_path):
    """SQLite makes and removes its -shm and -journal files while other processes start and tighten the directory."""
    import threading

    from chorus_site import config

    directory = tmp_path / "data"
    directory.mkdir()
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            for n in range(20):
                (directory / f"db-{n}-shm").touch()
            for n in range(20):
                (directory / f"db-{n}-shm").unlink()

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(300):
            config.secure_data_dir(directory)
    finally:
        stop.set()
        thread.join()
