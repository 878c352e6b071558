"""The task state machine: every status reachable, moves a person may make, and refusals that name the rule."""

import pytest

from tasks_app import lifecycle
from tasks_app.lifecycle import ACTIVE, ASSIGNED, BACKLOG, CANCELLED, DONE, FAILED, IN_PROGRESS, READY, REVIEW


def test_every_status_is_reachable_and_every_transition_names_known_statuses():
    reached = {BACKLOG, READY} | {t.target for t in lifecycle.TRANSITIONS}
    assert reached == set(lifecycle.STATUSES)
    for transition in lifecycle.TRANSITIONS:
        assert set(transition.sources) <= set(lifecycle.STATUSES)
        assert lifecycle.status_after(transition.event_type) == transition.target


@pytest.mark.parametrize(
    ("status", "targets"),
    [
        (BACKLOG, (READY, CANCELLED)),
        (READY, (BACKLOG, CANCELLED)),
        (ASSIGNED, (READY, DONE, FAILED, CANCELLED)),
        (IN_PROGRESS, (READY, DONE, FAILED, CANCELLED)),
        (REVIEW, (READY, DONE, FAILED, CANCELLED)),
        (DONE, (READY,)),
        (FAILED, (READY,)),
        (CANCELLED, (READY,)),
    ],
)
def test_where_a_person_may_move_a_task(status, targets):
    assert lifecycle.person_targets(status) == targets


def test_ready_is_reached_by_the_transition_that_fits_where_the_task_is():
    assert lifecycle.person_transition(BACKLOG, READY).verb == "made ready"
    assert lifecycle.person_transition(ASSIGNED, READY).verb == "unassigned"
    assert lifecycle.person_transition(REVIEW, READY).verb == "reopened"
    assert lifecycle.person_transition(READY, IN_PROGRESS) is None


def test_a_transition_from_the_wrong_status_is_refused_naming_both():
    refused = r"task 7 is done, so it cannot be moved to the backlog \(only from ready\)"
    with pytest.raises(lifecycle.NotAllowed, match=refused):
        lifecycle.check(DONE, "moved to the backlog", task_id=7)
    assert lifecycle.check(READY, "assigned", task_id=7).target == ASSIGNED


def test_only_active_tasks_hold_a_slot_and_only_unstarted_ones_can_be_assigned():
    assert [s for s in lifecycle.STATUSES if lifecycle.holds_slot(s)] == list(ACTIVE)
    assert [s for s in lifecycle.STATUSES if lifecycle.assignable(s)] == [BACKLOG, READY]


def test_the_agent_of_a_task_may_start_finish_or_fail_it_and_nothing_else():
    moves = {t.verb for t in lifecycle.TRANSITIONS if lifecycle.AGENT in t.by}
    assert moves == {"started", "finished", "marked failed"}
    assert lifecycle.check(ASSIGNED, "finished", task_id=7).target == REVIEW
    with pytest.raises(lifecycle.NotAllowed, match=r"task 7 is review, so it cannot be finished"):
        lifecycle.check(REVIEW, "finished", task_id=7)
