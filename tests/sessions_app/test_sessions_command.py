import io
import json
import re
import subprocess

import pytest
from django.core.management import CommandError, call_command

from sessions_app.worker import SessionMonitor
from tests.sessions_app.conftest import received_prompts
from tests.sessions_app.test_lifecycle import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def run(*args):
    out = io.StringIO()
    call_command("sessions", *args, stdout=out)
    return out.getvalue()


def test_new_list_send_outbox_attach_kill(project, tmux_server):
    assert "no sessions" in run("list")
    assert re.search(r"^lifecycle +live$", run("new", "w1", "--profile", "fake", "--dir", "sub"), re.MULTILINE)
    listed = json.loads(run("--json", "list"))
    assert [(s["name"], s["cwd"].endswith("/sub")) for s in listed] == [("w1", True)]
    assert run("attach", "w1").strip().endswith("attach -t w1")
    monitor = SessionMonitor()
    wait_for(monitor, lambda: "idle" in run("list"), what="idle")
    queued = json.loads(run("--json", "send", "w1", "from the command line"))
    assert queued["state"] == "queued"
    wait_for(monitor, lambda: received_prompts(project.log) == ["from the command line"], what="prompt")
    assert json.loads(run("--json", "outbox", "w1", "--all"))[0]["state"] in ("delivering", "delivered")
    assert "pressed Escape" in run("keys", "w1", "Escape")
    assert "killed" in run("kill", "w1")
    with pytest.raises(CommandError, match=r"^session 'w1' is killed; restart it first$"):
        run("send", "w1", "too late")
    assert run("remove", "w1") == "removed w1; its history stays in the event log\n"
    assert "no sessions" in run("list")
    assert re.search(r"^lifecycle +live$", run("new", "w1", "--profile", "fake"), re.MULTILINE)  # the name is free


def test_errors_are_one_line(project):
    with pytest.raises(CommandError, match="no session named 'ghost'"):
        run("kill", "ghost")
    with pytest.raises(CommandError, match="invalid session name"):
        run("new", "bad name")


def test_a_failing_command_exits_non_zero_without_a_traceback(project, manage, subprocess_env):
    env = {**subprocess_env, "PROJECT_ROOT": str(project.root)}
    result = subprocess.run([*manage, "sessions", "send", "ghost", "hi"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: no session named 'ghost'"
