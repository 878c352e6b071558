"""The strongest test of the design: any sequence of domain commands leaves the live read models equal to a
rebuild from the log. Apps join by registering their commands (tests/events_app/domain_commands.py)."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings, target

from events_app import projection, store
from events_app.audit import verify_events
from tests.events_app.domain_commands import discover, scripts

COMMANDS = discover()


@pytest.mark.django_db
@settings(
    max_examples=50,
    deadline=None,
    # Every example runs in a transaction of its own that is rolled back, so the function-scoped database
    # fixture starts each one empty.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=scripts(COMMANDS))
def test_any_command_sequence_leaves_live_read_models_equal_to_a_rebuild(script):
    with transaction.atomic():
        for step in script:
            step.run()
        assert projection.verify() == []
        audit = verify_events()
        assert audit.ok, audit.problem
        assert audit.checked == store.last_position()
        # Steer generation towards longer histories: most random steps meet a domain error or a conflict.
        target(float(audit.checked), label="events appended")
        transaction.set_rollback(True)


def test_the_demo_commands_are_registered():
    assert {c.service.__name__ for c in COMMANDS} >= {
        "counter_open",
        "counter_increment",
        "counter_rename",
        "counter_label",
        "counter_close",
    }
