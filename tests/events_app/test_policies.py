"""Policies: in-transaction reactions commit and roll back with their trigger and never run on replay; worker
policies follow the log from a checkpoint, at least once, starting at the end of the log."""

import pytest

from events_app import policies, projection, store
from events_app.models import PolicyCheckpoint
from events_app.policies import PolicyLoop, PolicyRunner
from tests.demo import policies as demo
from tests.demo import services
from tests.demo.models import Counter
from tests.events_app.helpers import event_rows, state

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_side_effects():
    demo.closed_seen.clear()
    demo.failed_once.clear()
    demo.heard_by_host.clear()


def audited():
    services.counter_open("audit", "audit")
    services.counter_open("x", "x")


def test_a_reaction_is_appended_in_the_same_transaction_with_its_cause():
    audited()

    (increment,) = services.counter_increment("x", 5)

    assert Counter.objects.get(pk="audit").value == 5
    (reaction,) = store.read(stream_type="counter", stream_id="audit", event_types=["CounterIncremented"])
    assert reaction.position == increment.position + 1
    assert reaction.event.note == "x"
    assert reaction.metadata["causation_id"] == increment.position
    assert reaction.metadata["policy"] == "increments_are_audited"
    assert reaction.metadata["correlation_id"] == increment.metadata["correlation_id"]


def test_a_failing_reaction_rolls_back_the_event_that_set_it_off():
    audited()
    before, rows = state(), event_rows()

    with pytest.raises(demo.UnluckyIncrement):
        services.counter_increment("x", demo.UNLUCKY)

    assert (state(), event_rows()) == (before, rows)


def test_reactions_do_not_run_again_on_replay():
    audited()
    services.counter_increment("x", 2)
    count = len(event_rows())

    projection.rebuild()

    assert len(event_rows()) == count
    assert Counter.objects.get(pk="audit").value == 2
    assert projection.verify() == []


def test_reactions_that_set_each_other_off_without_end_are_stopped_and_write_nothing():
    services.counter_open("echo", "echo")
    rows = event_rows()

    with pytest.raises(PolicyLoop, match=r"increments_are_audited@#\d+ -> increments_are_audited"):
        services.counter_increment("echo", 1)

    assert event_rows() == rows


def test_a_suspended_policy_does_not_react():
    audited()
    with policies.suspended("increments_are_audited"):
        services.counter_increment("x", 3)
    assert Counter.objects.get(pk="audit").value == 0
    assert "increments_are_audited" in {p.name for p in policies.policies(in_transaction=True)}


def test_a_worker_policy_starts_at_the_end_of_the_log_and_is_called_once_at_start():
    services.counter_open("old", "old")
    services.counter_close("old")
    runner = PolicyRunner()

    runner.start()
    runner.tick()

    assert demo.closed_seen == ["(started)"]
    assert PolicyCheckpoint.objects.get(pk="closed_counters_are_noted").position == store.last_position()


def test_a_worker_policy_gets_each_committed_event_once_in_order():
    runner = PolicyRunner()
    runner.start()
    for name in ("a", "b"):
        services.counter_open(name, name)
        services.counter_close(name)

    runner.tick()
    runner.tick()

    assert demo.closed_seen == ["(started)", "a", "b"]
    assert PolicyCheckpoint.objects.get(pk="closed_counters_are_noted").position == store.last_position()


def test_a_failed_batch_is_offered_again_and_the_checkpoint_waits_for_it(caplog):
    runner = PolicyRunner()
    runner.start()
    services.counter_open("flaky", "flaky")
    services.counter_close("flaky")
    stuck = PolicyCheckpoint.objects.get(pk="closed_counters_are_noted").position

    runner.tick()

    assert demo.closed_seen == ["(started)"]
    assert PolicyCheckpoint.objects.get(pk="closed_counters_are_noted").position == stuck
    assert "policy closed_counters_are_noted failed" in caplog.text
    runner.tick()
    assert demo.closed_seen == ["(started)", "flaky"]


def test_a_shared_worker_policy_runs_in_one_hosts_worker_and_a_per_host_one_in_every_hosts(settings):
    """Two hosts' workers on one log: the shared policy's batch is taken by whichever ticks first, the per-host
    policy's by each, under a checkpoint of its own."""
    runners = {}
    for host in ("laptop", "ci-2"):
        settings.CHORUS_HOST_NAME = host
        runners[host] = PolicyRunner()
        runners[host].start()
    services.counter_open("a", "a")
    services.counter_close("a")

    for host in ("laptop", "ci-2"):
        settings.CHORUS_HOST_NAME = host
        runners[host].tick()

    assert demo.closed_seen == ["(started)", "(started)", "a"]
    assert demo.heard_by_host == [("laptop", "a"), ("ci-2", "a")]
    checkpoints = set(PolicyCheckpoint.objects.values_list("name", flat=True))
    assert {
        "closed_counters_are_noted",
        "closed_counters_are_heard_on_every_host@laptop",
        "closed_counters_are_heard_on_every_host@ci-2",
    } <= checkpoints
    assert "closed_counters_are_heard_on_every_host" not in checkpoints


def test_worker_policies_do_not_run_inside_the_append():
    PolicyRunner().start()
    services.counter_open("c", "c")
    services.counter_close("c")
    assert demo.closed_seen == ["(started)"]


def test_a_policy_name_is_taken_once():
    with pytest.raises(ValueError, match="registered twice"):

        @policies.policy(demo.CounterIncremented, name="increments_are_audited")
        def another(recorded):
            """A second reaction under a name that is taken."""
