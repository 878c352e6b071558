import os
import stat

import pytest

from sessions_app.notify import Notifier


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def fake_notify_send(tmp_path, monkeypatch):
    """A notify-send on PATH that records its arguments, one call per line."""
    log = tmp_path / "calls.log"
    script = tmp_path / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {log}\necho >> {log}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return log


def test_notify_send_gets_title_and_body_as_arguments(fake_notify_send):
    notifier = Notifier()
    assert notifier.backend == "notify-send"
    assert notifier.notify("s1", "waiting", "s1 needs you", "-rf / ; permission prompt")
    assert fake_notify_send.read_text().splitlines() == ["--app-name=Chorus|--|s1 needs you|-rf / ; permission prompt|"]


def test_repeats_are_deduplicated_per_session_and_kind(fake_notify_send):
    clock = Clock()
    notifier = Notifier(dedupe_seconds=30, clock=clock)
    assert notifier.notify("s1", "waiting", "t", "b")
    assert not notifier.notify("s1", "waiting", "t", "b")
    assert notifier.notify("s1", "idle", "t", "b")
    assert notifier.notify("s2", "waiting", "t", "b")
    clock.now += 31
    assert notifier.notify("s1", "waiting", "t", "b")
    assert len(fake_notify_send.read_text().splitlines()) == 4


def test_rate_limit_caps_a_minute(fake_notify_send):
    clock = Clock()
    notifier = Notifier(max_per_minute=3, clock=clock)
    said = [notifier.notify(f"s{i}", "waiting", "t", "b") for i in range(5)]
    assert said == [True, True, True, False, False]
    clock.now += 60
    assert notifier.notify("s9", "waiting", "t", "b")


def test_without_a_desktop_it_logs(monkeypatch, caplog, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    notifier = Notifier()
    assert notifier.backend == "log"
    with caplog.at_level("WARNING", logger="chorus.notify"):
        notifier.notify("s1", "waiting", "s1 needs you", "permission prompt")
    assert "s1 needs you: permission prompt" in caplog.text


def test_off_says_nothing(fake_notify_send):
    assert not Notifier(backend="off").notify("s1", "waiting", "t", "b")
    assert not fake_notify_send.exists()
