"""chorus.py, the bootstrap a fresh machine runs: what each action runs, in which environment, and the order of the
lint checks (no process is started here: subprocess.call is replaced)."""

import importlib.util

import pytest

from tests.support import ROOT


@pytest.fixture
def bootstrap(monkeypatch):
    spec = importlib.util.spec_from_file_location("chorus_bootstrap", ROOT / "chorus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "find_uv", lambda: "uv")
    return module


@pytest.fixture
def ran(bootstrap, monkeypatch):
    """The command lines main() runs; a `ruff format` fails."""
    commands = []

    def call(command, cwd=None, env=None):
        commands.append(command)
        return 1 if "format" in command else 0

    monkeypatch.setattr(bootstrap.subprocess, "call", call)
    return commands


def test_lint_runs_ruff_then_the_layer_contracts_and_stops_at_the_first_failure(bootstrap, ran):
    assert bootstrap.main(["lint"]) == 1
    assert [command[command.index(str(ROOT)) + 1 :] for command in ran] == [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
    ]
    assert bootstrap.command_lines("uv", ["lint"])[-1][-1] == "lint-imports"


def test_start_and_every_command_use_the_runtime_dependencies_only_and_tests_the_dev_group(bootstrap):
    start, command, test = (bootstrap.command_lines("uv", argv)[0] for argv in (["start"], ["tasks", "list"], ["test"]))
    assert "--no-dev" in start
    assert "--no-dev" in command
    assert "--no-dev" not in test
    assert test[-1] == "pytest"


@pytest.mark.parametrize(
    "argv",
    [["sessions", "list", "--json"], ["manage", "sessions", "list", "--json"]],
)
def test_any_other_action_is_a_chorus_command(bootstrap, ran, argv):
    assert bootstrap.main(argv) == 0
    [command] = ran
    assert command[command.index("-m") - 1 :] == ["python", "-m", "chorus_site.cli", "sessions", "list", "--json"]


def test_no_action_starts_chorus(bootstrap, ran):
    bootstrap.main([])
    assert ran[0][-2:] == ["chorus_site.cli", "start"]
