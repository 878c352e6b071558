"""The operator's commands: rebuild_projections, verify_projections, verify_events and events, through
call_command and, where exit codes and tracebacks matter, in a real child process."""

import json
import queue
import re
import subprocess
import threading

import pytest
from django.core.management.base import CommandError

from events_app import projection, store
from events_app.models import Stream
from events_app.recorders.base import hash_text
from tests.demo import services
from tests.demo.models import Counter
from tests.events_app.helpers import command, history, projection_names, sql, state, unchecked_json, write_raw_event

pytestmark = pytest.mark.django_db


def _positions(output: str) -> list[int]:
    return [int(line.split("\t")[0].lstrip("#")) for line in output.splitlines()]


# rebuild_projections


def test_rebuild_restores_tampered_read_models():
    history()
    live = projection.snapshot()
    Counter.objects.filter(pk="a").update(value=1000)
    Stream.objects.all().delete()

    out, _ = command("rebuild_projections")

    assert out == f"rebuilt {', '.join(projection_names())} from 8 events (to #8)\n"
    assert projection.snapshot() == live


def test_rebuild_named_projections_only():
    history()
    Counter.objects.filter(pk="a").update(value=1000)
    Stream.objects.filter(pk="counter:a").update(version=50)

    out, _ = command("rebuild_projections", "demo_counters")

    assert out == "rebuilt demo_counters from 8 events (to #8)\n"
    assert Counter.objects.get(pk="a").value == 2
    assert Stream.objects.get(pk="counter:a").version == 50


def test_rebuild_dry_run_reports_the_differences_and_changes_nothing():
    history()
    Counter.objects.filter(pk="a").update(value=1000)
    tampered = state()

    out, _ = command("rebuild_projections", "--dry-run")

    assert out.splitlines() == [
        f"dry run: 8 events would rebuild {', '.join(projection_names())}; 1 row difference(s) from the live "
        "tables; nothing was changed",
        "  demo_counter a.value: live 1000 != replay 2",
    ]
    assert state() == tampered


def test_rebuild_list_shows_each_projection_its_checkpoint_and_tables(monkeypatch):
    history()
    with projection.unregistered("demo_counters"):
        services.counter_increment("a", 1)

    out, _ = command("rebuild_projections", "--list")

    lines = dict(line.split("\t", 1) for line in out.splitlines())
    assert lines["streams"] == "@9\tchorus_stream"
    assert lines["demo_counters"] == "@8\tdemo_counter, demo_countertotal\tbehind: the log ends at #9"
    assert set(lines) == set(projection_names())


def test_unknown_projection_names_are_a_one_line_error():
    history()
    for name in ("rebuild_projections", "verify_projections"):
        with pytest.raises(CommandError) as failure:
            command(name, "demo_counters", "nope", "zilch")
        assert str(failure.value) == (
            f"unknown projection(s): nope, zilch; known: {', '.join(sorted(projection_names()))}"
        )


# verify_projections


def test_verify_projections_passes_when_live_equals_replay():
    history()
    out, err = command("verify_projections")
    assert out == f"ok: {', '.join(projection_names())} equal a replay of the event log\n"
    assert err == ""


def test_verify_projections_fails_with_a_readable_diff():
    history()
    Counter.objects.filter(pk="b").update(name="Plantains")
    Stream.objects.filter(pk="counter:a").delete()

    with pytest.raises(CommandError) as failure:
        command("verify_projections")

    assert str(failure.value) == "2 difference(s) between the live read models and a replay"
    differences = projection.verify()
    assert len(differences) == 2
    assert differences[0].startswith(
        "chorus_stream counter:a: missing from the live table; replay gives {'key': 'counter:a', "
    )
    assert differences[1] == "demo_counter b.name: live 'Plantains' != replay 'Bananas'"


# Replay errors: a corrupt log stops rebuild and verify, naming the event, and changes nothing.


def _malformed_payload():
    sql("UPDATE chorus_event SET data = %s WHERE position = 4", ['{"by": 5, "colour": "red", "note": ""}'])
    return "event #4 (CounterIncremented): payload does not fit CounterIncremented"


def _unknown_type():
    sql("UPDATE chorus_event SET event_type = 'CounterExploded' WHERE position = 4")
    return "event #4 (CounterExploded): unknown event type 'CounterExploded'"


def _invalid_json():
    with unchecked_json():
        sql("UPDATE chorus_event SET data = '{\"by\": 5,' WHERE position = 4")
    return "event #4 (CounterIncremented): Expecting property name enclosed in double quotes"


def _bad_timestamp():
    sql("UPDATE chorus_event SET recorded_at = 'last tuesday' WHERE position = 4")
    return "event #4 (CounterIncremented): Invalid isoformat string: 'last tuesday'"


@pytest.mark.parametrize("corrupt", [_malformed_payload, _unknown_type, _invalid_json, _bad_timestamp])
@pytest.mark.parametrize(
    "args",
    [("rebuild_projections",), ("rebuild_projections", "--dry-run"), ("verify_projections",)],
    ids=["rebuild", "dry-run", "verify"],
)
def test_a_corrupt_event_stops_replay_naming_it_and_nothing_changes(corrupt, args):
    history()
    Counter.objects.filter(pk="a").update(value=1000)  # a difference a rebuild would repair
    message = corrupt()
    before = state()

    with pytest.raises(CommandError) as failure:
        command(*args)

    assert str(failure.value).startswith(f"replay stopped, nothing changed: {message}")
    assert state() == before


def test_a_corrupt_event_is_reported_by_the_events_command_too():
    history()
    message = _unknown_type()
    with pytest.raises(CommandError) as failure:
        command("events")
    assert str(failure.value) == f"cannot read the log: {message}"


# verify_events: rows edited, deleted or inserted behind the store's back


def test_verify_events_passes_on_an_intact_log():
    history()
    out, _ = command("verify_events")
    assert out == "ok: 8 events, hash chain and versions intact\n"


def test_verify_events_names_an_edited_row():
    history()
    sql('UPDATE chorus_event SET data = \'{"by":500,"note":""}\' WHERE position = 4')

    with pytest.raises(CommandError) as failure:
        command("verify_events")

    assert str(failure.value) == (
        "event #4 (CounterIncremented on counter:b v2): hash does not match: the row was changed or written by "
        "hand (3 events before it are intact)"
    )


def test_verify_events_names_the_next_row_when_an_edit_forged_its_own_hash():
    history()
    fields = list(
        sql(
            "SELECT position, stream_type, stream_id, version, event_type, schema_version, data, metadata, "
            "CAST(recorded_at AS TEXT) FROM chorus_event WHERE position = 4"
        )[0]
    )
    fields[6] = '{"by":500,"note":""}'
    previous = hash_text(sql("SELECT hash FROM chorus_event WHERE position = 3")[0][0])
    sql(
        "UPDATE chorus_event SET data = %s, hash = %s WHERE position = 4",
        [fields[6], bytes.fromhex(store.chain_hash(previous, fields))],
    )

    with pytest.raises(CommandError, match=r"^event #5 \(CounterLabelled on counter:a v3\): hash does not match"):
        command("verify_events")


def test_verify_events_names_the_event_after_a_deleted_row():
    history()
    sql("DELETE FROM chorus_event WHERE position = 3")

    with pytest.raises(CommandError) as failure:
        command("verify_events")

    assert str(failure.value) == (
        "event #4 (CounterIncremented on counter:b v2): the events before it (#3) are missing "
        "(2 events before it are intact)"
    )


def test_verify_events_notices_events_deleted_from_the_end():
    history()
    sql("DELETE FROM chorus_event WHERE position >= 7")

    with pytest.raises(CommandError) as failure:
        command("verify_events")

    # Every projector has applied the lost events; whichever is named, the error says how far.
    assert re.match(
        r"event #7: missing; the log ends at #6 but projection \w+ has applied events up to #8", str(failure.value)
    )


def test_verify_events_names_an_inserted_row():
    history()
    write_raw_event("b", 4, "CounterRenamed", {"name": "forged"}, hash_value="f" * 64)

    with pytest.raises(CommandError) as failure:
        command("verify_events")

    assert str(failure.value).startswith("event #9 (CounterRenamed on counter:b v4): hash does not match")


def test_verify_events_names_an_inserted_row_that_skips_a_version():
    history()
    write_raw_event("a", 9, "CounterRenamed", {"name": "forged"})

    with pytest.raises(CommandError, match=r"^event #9 \(CounterRenamed on counter:a v9\): stream version 9, "):
        command("verify_events")


# events


def test_events_lists_the_log_in_order():
    with store.event_context(actor="alice", source="web"):
        history()

    out, _ = command("events")

    lines = out.splitlines()
    assert _positions(out) == list(range(1, 9))
    position, when, stream, kind, who, payload = lines[4].split("\t")
    assert (position, stream, kind, who) == ("#5", "counter:a v3", "CounterLabelled", "alice/web")
    assert json.loads(payload) == {"labels": {"colour": "red"}}
    assert when == f"{next(store.read(after=4)).recorded_at:%Y-%m-%d %H:%M:%S}"


@pytest.mark.parametrize(
    ("args", "positions"),
    [
        (["--stream", "counter:a"], [1, 2, 5, 6, 7]),
        (["--stream", "counter"], list(range(1, 9))),
        (["--stream", "session"], []),
        (["--type", "CounterOpened", "--type", "CounterClosed"], [1, 3, 8]),
        (["--after", "5"], [6, 7, 8]),
        (["--limit", "3"], [6, 7, 8]),
        (["--after", "2", "--limit", "3"], [3, 4, 5]),
        (["--stream", "counter:b", "--limit", "2"], [4, 8]),
    ],
)
def test_events_filters(args, positions):
    history()
    out, _ = command("events", *args)
    assert _positions(out) == positions


def test_events_filters_by_time():
    history()
    times = {e.position: e.recorded_at for e in store.read()}

    out, _ = command("events", "--since", times[3].isoformat(), "--until", times[6].isoformat())
    assert _positions(out) == [3, 4, 5]

    day = times[1].date()
    out, _ = command("events", "--since", day.isoformat())
    assert _positions(out) == list(range(1, 9))
    out, _ = command("events", "--until", day.isoformat())
    assert out == ""


def test_events_as_json_lines():
    with store.event_context(actor="alice", source="api", correlation_id="req-9"):
        services.counter_open("c1", "first")
        services.counter_increment("c1", 5)

    out, _ = command("events", "--json")

    second = json.loads(out.splitlines()[1])
    assert second == {
        "position": 2,
        "recorded_at": next(store.read(after=1)).recorded_at.isoformat(),
        "stream_type": "counter",
        "stream_id": "c1",
        "version": 2,
        "event_type": "CounterIncremented",
        "data": {"by": 5, "note": ""},
        "metadata": {"actor": "alice", "source": "api", "correlation_id": "req-9"},
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "not a date and time: 'yesterday' (use ISO 8601, e.g. 2026-11-24 or "),
        (["--until", "2026-13-45"], "not a date and time: '2026-13-45'"),
        (["--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_events_bad_arguments_are_a_one_line_error(args, message):
    with pytest.raises(CommandError) as failure:
        command("events", *args)
    assert str(failure.value).startswith(message)
    assert "\n" not in str(failure.value)


# In a real process: exit codes, one-line errors, no tracebacks, and --follow.


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_commands_in_a_real_process_exit_non_zero_with_one_line_and_no_traceback(manage, subprocess_env):
    history()
    sql('UPDATE chorus_event SET data = \'{"name":"Forged"}\' WHERE position = 6')
    Counter.objects.filter(pk="b").update(value=0)

    # Started together: each child spends most of its time importing Django.
    children = {
        name: subprocess.Popen(
            [*manage, *args], env=subprocess_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, args in {
            "tampered": ["verify_events"],
            "unknown": ["rebuild_projections", "nope"],
            "diff": ["verify_projections", "demo_counters"],
        }.items()
    }
    results = {name: (child, *child.communicate(timeout=60)) for name, child in children.items()}

    for name, (child, _out, err) in results.items():
        assert child.returncode == 1, name
        assert "Traceback" not in err, name
    assert results["tampered"][2].splitlines() == [
        "CommandError: event #6 (CounterRenamed on counter:a v4): hash does not match: the row was changed or "
        "written by hand (5 events before it are intact)"
    ]
    assert results["unknown"][2].splitlines() == [
        f"CommandError: unknown projection(s): nope; known: {', '.join(sorted(projection_names()))}"
    ]
    # The rename was forged to "Forged" in the log: the live name disagrees as well as the zeroed value.
    assert results["diff"][2].splitlines() == [
        "demo_counter a.name: live 'Green apples' != replay 'Forged'",
        "demo_counter b.value: live 0 != replay 5",
        "CommandError: 2 difference(s) between the live read models and a replay",
    ]


def _lines(stream) -> queue.Queue:
    """Lines of a child's output as they come, so a test can wait for one with a timeout."""
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_events_follow_prints_an_event_appended_after_it_started(manage, subprocess_env):
    services.counter_open("c1", "first")
    services.counter_open("other", "other")
    child = subprocess.Popen(
        [*manage, "events", "--follow", "--json", "--stream", "counter:c1"],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = _lines(child.stdout)
        # The existing event is printed first: from then on the child is following.
        assert json.loads(lines.get(timeout=30))["position"] == 1
        services.counter_increment("other", 1)
        services.counter_increment("c1", 5)

        followed = json.loads(lines.get(timeout=15))
    finally:
        child.kill()
        child.wait(timeout=10)
        child.stdout.close()
        child.stderr.close()

    assert (followed["position"], followed["event_type"], followed["data"]) == (
        4,
        "CounterIncremented",
        {"by": 5, "note": ""},
    )
    assert lines.empty()
