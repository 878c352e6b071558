# The security suite drives a real agent session, so it shares the sessions tests' tmux fixtures.
from tests.sessions_app.conftest import fake_agent_cmd, project, tmux_server  # noqa: F401
