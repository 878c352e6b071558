"""Property-based fuzzing of the whole API with schemathesis, against the real server: no request, however odd,
gets a 5xx, and every documented response matches its schema."""

import os
import shutil
import tempfile

import pytest
import schemathesis
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from sessions_app.tmux import Tmux
from tests.support import ServerProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def api_schema(subprocess_env, transactional_db, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "spec.md").write_text("# Spec\n\none\ntwo\nthree\n")
    socket_dir = tempfile.mkdtemp(prefix="chorus-fuzz-", dir="/tmp")
    env = {
        **subprocess_env,
        "PROJECT_ROOT": str(project),
        "CHORUS_TMUX_SOCKET": os.path.join(socket_dir, "socket"),
        "EDITOR": "true",
    }
    server = ServerProcess(env, free_port(), settings.CHORUS_TOKEN)
    try:
        yield schemathesis.openapi.from_url(f"{server.url}/api/openapi.json", headers=_auth())
    finally:
        server.stop()
        tmux = Tmux(env["CHORUS_TMUX_SOCKET"])
        tmux.kill_server()
        shutil.rmtree(socket_dir, ignore_errors=True)


def _auth():
    return {"Authorization": f"Bearer {settings.CHORUS_TOKEN}"}


def test_no_request_gets_a_server_error_and_responses_match_their_schema(api_schema):
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    failures = []
    calls = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case):
            calls.append(case.call_and_validate(headers=_auth(), checks=checks).status_code)

        try:
            exercise()
        except Exception as failure:
            # every operation's failure is collected, then all are reported together
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
    assert len(calls) > 10 * len(operations)
    assert {200, 201, 202} & set(calls) and {400, 404, 422} & set(calls)
