"""The live == rebuilt property over task commands alone: the shared run (tests/events_app/test_property.py) draws
from every app's commands, so few of its sequences get far into a task's life; these do."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings, target

from events_app import projection, store
from events_app.audit import verify_events
from tests.events_app.domain_commands import scripts
from tests.tasks_app.domain_commands import COMMANDS


@pytest.mark.django_db
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(script=scripts(COMMANDS, min_size=10))
def test_any_task_command_sequence_leaves_live_read_models_equal_to_a_rebuild(script):
    with transaction.atomic():
        for step in script:
            step.run()
        assert projection.verify() == []
        audit = verify_events()
        assert audit.ok, audit.problem
        target(float(sum(1 for _ in store.read(stream_type="task"))), label="task events")
        transaction.set_rollback(True)
