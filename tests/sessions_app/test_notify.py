import os
import stat

import pytest

from sessions_app import notify
from sessions_app.notify import Notifier


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Runner:
    """Stands in for subprocess.run: keeps each command line."""

    def __init__(self):
        self.commands = []

    def __call__(self, command, **_options):
        self.commands.append(command)


def test_notify_send_gets_title_and_body_as_arguments():
    runner = Runner()
    notifier = Notifier("notify-send", run=runner)
    assert notifier.notify("s1", "waiting", "s1 needs you", "-rf / ; permission prompt")
    assert runner.commands == [["notify-send", "--app-name=Chorus", "--", "s1 needs you", "-rf / ; permission prompt"]]


def test_osascript_gets_both_quoted_into_its_script():
    runner = Runner()
    Notifier("osascript", run=runner).notify("s1", "waiting", 's1 "needs" you', "a\\b")
    assert runner.commands == [["osascript", "-e", 'display notification "a\\\\b" with title "s1 \\"needs\\" you"']]


def test_repeats_are_deduplicated_per_session_and_kind():
    clock, runner = Clock(), Runner()
    notifier = Notifier("notify-send", dedupe_seconds=30, clock=clock, run=runner)
    assert notifier.notify("s1", "waiting", "t", "b")
    assert not notifier.notify("s1", "waiting", "t", "b")
    assert notifier.notify("s1", "idle", "t", "b")
    assert notifier.notify("s2", "waiting", "t", "b")
    clock.now += 31
    assert notifier.notify("s1", "waiting", "t", "b")
    assert len(runner.commands) == 4


def test_rate_limit_caps_a_minute():
    clock = Clock()
    notifier = Notifier("notify-send", max_per_minute=3, clock=clock, run=Runner())
    said = [notifier.notify(f"s{i}", "waiting", f"s{i} needs you", "b") for i in range(5)]
    assert said == [True, True, True, False, False]
    clock.now += 60
    assert notifier.notify("s9", "waiting", "s9 needs you", "b")


def test_over_the_rate_limit_notices_are_held_and_said_as_one_never_dropped():
    clock, runner = Clock(), Runner()
    notifier = Notifier("notify-send", max_per_minute=2, clock=clock, run=runner)
    for i in range(4):
        notifier.notify(f"s{i}", "waiting", f"s{i} needs you", f"dialog {i}")
    assert not notifier.flush()
    clock.now += 60
    assert notifier.flush() and not notifier.flush()
    assert runner.commands[-1][-2:] == ["Chorus: 2 notices", "s2 needs you: dialog 2; s3 needs you: dialog 3"]
    assert len(runner.commands) == 3


def test_a_notice_with_a_key_is_said_once_per_key_however_soon_the_next_one_comes():
    clock, runner = Clock(), Runner()
    notifier = Notifier("notify-send", dedupe_seconds=30, clock=clock, run=runner)
    assert notifier.notify("s1", "waiting", "s1 needs you", "first dialog", key=10)
    clock.now += 5
    assert not notifier.notify("s1", "waiting", "s1 needs you", "first dialog", key=10)
    assert notifier.notify("s1", "waiting", "s1 needs you", "second dialog", key=12)
    assert [command[-1] for command in runner.commands] == ["first dialog", "second dialog"]


def test_a_failing_backend_is_logged(caplog):
    def broken(command, **_options):
        raise OSError("no such program")

    with caplog.at_level("WARNING", logger="chorus.notify"):
        assert Notifier("notify-send", run=broken).notify("s1", "waiting", "s1 needs you", "permission prompt")
    assert "notify-send failed (no such program): s1 needs you: permission prompt" in caplog.text


def test_without_a_desktop_it_logs(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    notifier = Notifier()
    assert notifier.backend == "log"
    with caplog.at_level("WARNING", logger="chorus.notify"):
        notifier.notify("s1", "waiting", "s1 needs you", "permission prompt")
    assert "s1 needs you: permission prompt" in caplog.text


def test_off_says_nothing():
    runner = Runner()
    assert not Notifier(backend="off", run=runner).notify("s1", "waiting", "t", "b")
    assert runner.commands == []


def test_the_process_has_one_notifier_as_the_settings_ask(settings):
    settings.CHORUS_NOTIFY = "log"
    assert notify.notifier() is notify.notifier()
    assert notify.notifier().backend == "log"
    settings.CHORUS_NOTIFY = "off"
    assert notify.notifier().backend == "off"


@pytest.mark.integration
def test_a_real_notify_send_on_path_is_chosen_and_gets_the_arguments(tmp_path, monkeypatch):
    log = tmp_path / "calls.log"
    script = tmp_path / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {log}\necho >> {log}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    notifier = Notifier()
    assert notifier.backend == "notify-send"
    assert notifier.notify("s1", "waiting", "s1 needs you", "-rf / ; permission prompt")
    assert log.read_text().splitlines() == ["--app-name=Chorus|--|s1 needs you|-rf / ; permission prompt|"]
