"""The usage meter records each session's turns from its agent's own records, summed per session, task, model and
day, and never counts a byte twice, across ticks and restarts; spend crossing a budget pauses dispatch until a
person resumes it (or the next day comes), and nothing running is stopped.

The Claude Code records are made here in its formats (see tests/sessions_app/test_usage.py for their sources).
"""

import json

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

from chorus_site import config
from events_app import projection, store
from tasks_app import selectors, services
from tasks_app.events import DispatchPaused
from tasks_app.models import DispatchPause, UsageTotal
from tasks_app.services import agent
from tasks_app.worker import UsageMeter
from tests.sessions_app.factories import SessionFactory
from tests.sessions_app.test_usage import assistant, lines
from tests.tasks_app.factories import TaskFactory, assigned_task
from tests.tasks_app.helpers import event_types, session_appears, session_killed
from tests.tasks_app.test_agent import caller

pytestmark = pytest.mark.django_db

SONNET = "claude-sonnet-4-5-20250929"


@pytest.fixture
def claude_home(tmp_path, monkeypatch, settings):
    """A Claude Code directory whose session file says pane %7 holds conversation c-1 in /work/proj."""
    home = tmp_path / "claude"
    (home / "sessions").mkdir(parents=True)
    session_file = {"pid": 999999, "sessionId": "c-1", "cwd": "/work/proj", "tmux": "x:@1.%7", "status": "idle"}
    (home / "sessions" / "999999.json").write_text(json.dumps(session_file))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home))
    monkeypatch.delenv("CHORUS_CLAUDE_SESSIONS_DIR", raising=False)
    settings.CHORUS_PRICES = ""
    settings.CHORUS_DAILY_BUDGET = settings.CHORUS_TASK_BUDGET = None
    transcript = home / "projects" / "-work-proj" / "c-1.jsonl"
    transcript.parent.mkdir(parents=True)
    transcript.write_bytes(b"")
    return transcript


def write(transcript, *records):
    with open(transcript, "ab") as file:
        file.write(lines(*records))


def totals(by):
    return {
        row.key: (row.turns, row.input, row.output, row.cache_read, row.cache_write)
        for row in selectors.usage_totals(by)
    }


def test_the_meter_records_each_turn_once_per_session_task_model_and_day(claude_home):
    SessionFactory(name="cc", profile="claude", pane_id="%7", cwd="/work/proj")
    task = assigned_task("cc")
    meter = UsageMeter()
    write(claude_home, assistant("m1", "r1"), assistant("m1", "r1"), assistant("m2", "r2", model="claude-opus-4-5"))
    meter.tick()
    meter.tick()  # nothing new: nothing recorded
    assert event_types("usage", "cc") == ["UsageRecorded"]
    assert totals("session") == {"cc": (2, 20, 40, 80, 60)}
    assert totals("task") == {str(task.id): (2, 20, 40, 80, 60)}
    assert totals("model") == {SONNET: (1, 10, 20, 40, 30), "claude-opus-4-5": (1, 10, 20, 40, 30)}
    assert list(totals("day")) == [selectors.today()]
    # sonnet: 10*3 + 20*15 + 40*0.3 + 30*3.75; opus 4.5: 10*5 + 20*25 + 40*0.5 + 30*6.25 (millionths of a dollar)
    assert selectors.usage_of("session", "cc").cost_micros == round(30 + 300 + 12 + 112.5) + round(
        50 + 500 + 20 + 187.5
    )


def test_a_restarted_meter_reads_on_from_the_recorded_cursor(claude_home):
    SessionFactory(name="cc", profile="claude", pane_id="%7", cwd="/work/proj")
    write(claude_home, assistant("m1", "r1"))
    UsageMeter().tick()
    write(claude_home, assistant("m2", "r2"))
    restarted = UsageMeter()
    restarted.start()
    restarted.tick()
    assert selectors.usage_of("session", "cc").turns == 2


def test_lines_that_are_not_json_are_skipped_counted_and_recorded(claude_home):
    SessionFactory(name="cc", profile="claude", pane_id="%7", cwd="/work/proj")
    with open(claude_home, "ab") as file:
        file.write(b"garbage\n" + lines(assistant("m1", "r1")))
    meter = UsageMeter()
    meter.tick()
    assert meter.bad_lines == 1
    recorded = next(store.read(stream_type="usage", stream_id="cc"))
    assert recorded.event.bad_lines == 1


def test_a_session_whose_profile_has_no_reader_is_not_metered(claude_home):
    SessionFactory(name="plain", profile="aider", pane_id="%7", cwd="/work/proj")
    write(claude_home, assistant("m1", "r1"))
    UsageMeter().tick()
    assert not UsageTotal.objects.exists()


def test_the_roll_ups_rebuilt_from_the_log_equal_the_live_ones(claude_home):
    SessionFactory(name="cc", profile="claude", pane_id="%7", cwd="/work/proj")
    meter = UsageMeter()
    for n in range(3):
        write(claude_home, assistant(f"m{n}", f"r{n}"))
        meter.tick()
    assert projection.verify(["usage"]) == []


# --- budgets ----------------------------------------------------------------------------------------------------


def test_crossing_the_daily_budget_pauses_dispatch_and_next_task_until_a_person_resumes(claude_home, settings):
    settings.CHORUS_DAILY_BUDGET = 0.0005  # 500 millionths: the second turn crosses it
    SessionFactory(name="cc", profile="claude", pane_id="%7", cwd="/work/proj")
    meter = UsageMeter()
    write(claude_home, assistant("m1", "r1"))
    meter.tick()
    assert selectors.dispatch_pause() is None
    write(claude_home, assistant("m2", "r2"))
    meter.tick()
    pause = selectors.dispatch_pause()
    assert (pause.reason, pause.budget, pause.day) == ("daily budget $0.00 reached", "day", selectors.today())
    write(claude_home, assistant("m3", "r3"))
    meter.tick()  # further spend does not pause again
    assert event_types("dispatch", "fleet") == ["DispatchPaused"]

    session_appears("free", auto_dispatch=True)
    TaskFactory()
    assert services.dispatch_round().assigned == []
    assert agent.next_task(caller("puller")) is None

    assert services.dispatch_resume() is True
    assert services.dispatch_resume() is False
    assert event_types("dispatch", "fleet") == ["DispatchPaused", "DispatchResumed"]
    assert [task.session for task in services.dispatch_round().assigned] == ["free"]


def test_a_daily_pause_ends_with_its_day():
    services.dispatch_pause(DispatchPaused(reason="daily budget $1.00 reached", budget="day", day="2000-01-01"))
    assert DispatchPause.objects.get(pk=1).paused
    assert selectors.dispatch_pause() is None


def test_crossing_a_tasks_budget_pauses_dispatch_naming_the_task(claude_home, settings):
    settings.CHORUS_TASK_BUDGET = 0.0001
    SessionFactory(name="cc", profile="claude", pane_id="%7", cwd="/work/proj")
    task = assigned_task("cc")
    write(claude_home, assistant("m1", "r1"))
    UsageMeter().tick()
    pause = selectors.dispatch_pause()
    assert (pause.budget, pause.task) == ("task", task.id)
    assert pause.reason == f"task {task.id}'s budget $0.00 reached"


# --- the API and the command line -------------------------------------------------------------------------------


@pytest.fixture
def spent(claude_home):
    SessionFactory(name="cc", profile="claude", pane_id="%7", cwd="/work/proj")
    write(claude_home, assistant("m1", "r1", input_tokens=1_000_000, output_tokens=0))
    write(claude_home, assistant("m2", "r2", model="mystery-1", output_tokens=7))
    UsageMeter().tick()


def test_the_api_sums_usage_as_asked_and_says_todays_spend(spent):
    api = Client(HTTP_AUTHORIZATION=f"Bearer {django_settings.CHORUS_TOKEN}")
    report = api.get("/api/usage?by=model").json()
    assert [row["key"] for row in report["rows"]] == [SONNET, "mystery-1"]
    assert report["rows"][1]["unpriced"] == 1
    assert report["today"] == pytest.approx(
        3.000_124, abs=1e-6
    )  # 1M input at $3, cache 40 + 30 tokens; mystery-1 has no price
    assert report["dispatch_paused"] is None
    assert api.get("/api/usage?by=week").status_code == 422
    assert api.post("/api/usage/resume").json() == {"resumed": False}
    assert Client().get("/api/usage").status_code == 401


def test_the_command_prints_a_table_or_json(spent, capsys):
    call_command("usage", "--by", "session")
    table = capsys.readouterr().out
    assert table.splitlines()[1].startswith("cc") and "(+1 unpriced)" in table
    assert "today: $3.00" in table
    call_command("usage", "--by", "day", "--json")
    assert json.loads(capsys.readouterr().out)["rows"][0]["key"] == selectors.today()
    call_command("usage", "--resume-dispatch")
    assert capsys.readouterr().out.strip() == "no budget paused dispatch"


def test_the_last_reply_read_after_the_task_went_to_review_counts_for_that_task(claude_home):
    SessionFactory(name="cc", profile="claude", pane_id="%7", cwd="/work/proj")
    task = assigned_task("cc")
    services.task_set_status(task.id, "cancelled", expected_version=task.version)  # no longer at work
    write(claude_home, assistant("m1", "r1"))
    UsageMeter().tick()
    assert selectors.usage_of("task", task.id).turns == 1


@pytest.mark.parametrize(("raw", "amount"), [("", None), ("20", 20.0), ("$12.50", 12.5), (" 5 ", 5.0)])
def test_a_budget_is_an_amount_of_dollars_or_off(monkeypatch, raw, amount):
    monkeypatch.setenv("CHORUS_DAILY_BUDGET", raw)
    assert config.env_dollars("CHORUS_DAILY_BUDGET") == amount


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "inf", "nan"])
def test_a_budget_that_is_no_amount_is_one_line_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("CHORUS_DAILY_BUDGET", raw)
    with pytest.raises(SystemExit, match=r"^chorus: CHORUS_DAILY_BUDGET must be an amount of dollars above 0, not "):
        config.env_dollars("CHORUS_DAILY_BUDGET")


def test_a_conversation_resumed_in_another_session_is_read_on_from_where_it_was_counted(claude_home):
    SessionFactory(name="cc", profile="claude", pane_id="%7", cwd="/work/proj")
    write(claude_home, assistant("m1", "r1"))
    UsageMeter().tick()
    session_killed("cc")
    # another worker (a restart) and another session in the same pane, whose agent resumed the same conversation
    SessionFactory(name="again", profile="claude", pane_id="%7", cwd="/work/proj")
    write(claude_home, assistant("m2", "r2"))
    UsageMeter().tick()
    assert (selectors.usage_of("session", "cc").turns, selectors.usage_of("session", "again").turns) == (1, 1)
