"""chorus.py, the bootstrap a fresh machine runs: its actions and the order of the lint checks (no process is
started here: uv_run is replaced)."""

import importlib.util

import pytest

from tests.support import ROOT


@pytest.fixture
def bootstrap():
    spec = importlib.util.spec_from_file_location("chorus_bootstrap", ROOT / "chorus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_unknown_action_prints_the_usage_and_fails(bootstrap, capsys):
    assert bootstrap.main(["deploy"]) == 2
    assert "usage: python3 chorus.py start | test [pytest args] | lint | manage" in capsys.readouterr().err


def test_lint_runs_ruff_then_the_layer_contracts_and_stops_at_the_first_failure(bootstrap, monkeypatch):
    ran = []

    def uv_run(uv, args, cwd=None):
        ran.append(args[0] if args[0] != "ruff" else f"ruff {args[1]}")
        return 1 if args[:2] == ["ruff", "format"] else 0

    monkeypatch.setattr(bootstrap, "uv_run", uv_run)
    assert bootstrap.lint("uv") == 1
    assert ran == ["ruff check", "ruff format"]
    monkeypatch.setattr(bootstrap, "uv_run", lambda uv, args, cwd=None: ran.append(args[0]) or 0)
    assert bootstrap.lint("uv") == 0
    assert ran[-1] == "lint-imports"
