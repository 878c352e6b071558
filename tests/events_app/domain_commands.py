"""The commands that random sequences are drawn from, for the live == rebuilt property (test_property.py).

An app adds its services in `tests/<app>/domain_commands.py`, found and imported by `discover()`:

    from hypothesis import strategies as st
    from tests.events_app.domain_commands import command

    command(services.task_create, task_id=st.sampled_from(["t1", "t2"]), title=st.text(), raises=(TaskError,))
    command(services.task_assign, task_id=st.sampled_from(["t1", "t2"]), agent=st.text(), weight=2)

A step calls the service with arguments drawn from the strategies. The exceptions in `raises` (its domain
errors) and ConcurrencyError are outcomes the sequence may meet; any other exception fails the test. Keep ids
to a few values, so that steps meet the same streams again, and weigh the commands that start a stream so that
sequences get somewhere.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import transaction
from hypothesis import strategies as st

from events_app.store import ConcurrencyError

TESTS = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Command:
    service: Callable[..., Any]
    arguments: dict[str, st.SearchStrategy]
    raises: tuple[type[Exception], ...]
    weight: int


_commands: list[Command] = []


def command(
    service: Callable[..., Any], *, raises: tuple[type[Exception], ...] = (), weight: int = 1, **arguments
) -> Command:
    """Add a service to the random sequences; `arguments` are the strategies of its keyword arguments, and
    `weight` makes it that many times as likely as a command of weight 1."""
    registered = Command(service, arguments, raises, weight)
    _commands.append(registered)
    return registered


def discover() -> list[Command]:
    """Import every `tests/<app>/domain_commands.py` and return all registered commands."""
    for package in pkgutil.iter_modules([str(TESTS)]):
        name = f"tests.{package.name}.domain_commands"
        if package.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return list(_commands)


@dataclasses.dataclass(frozen=True)
class Step:
    """One service call; its repr is what Hypothesis prints for a failing sequence."""

    command: Command
    kwargs: dict[str, Any]

    def run(self) -> None:
        try:
            self.command.service(**self.kwargs)
        except (ConcurrencyError, *self.command.raises):
            pass

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.kwargs.items())
        return f"{self.command.service.__name__}({arguments})"


@dataclasses.dataclass(frozen=True)
class InTransaction:
    """Several steps in one caller's transaction, committed or rolled back at the end: a conflict or domain error
    inside must leave the other steps' work intact, and a rollback must take the read models with it."""

    steps: list[Step]
    rollback: bool

    def run(self) -> None:
        with transaction.atomic():
            for step in self.steps:
                step.run()
            transaction.set_rollback(self.rollback)

    def __repr__(self) -> str:
        return f"InTransaction({self.steps!r}, rollback={self.rollback})"


def steps(commands: list[Command]) -> st.SearchStrategy[Step]:
    return st.sampled_from([c for c in commands for _ in range(c.weight)]).flatmap(
        lambda c: st.fixed_dictionaries(c.arguments).map(lambda kwargs: Step(c, kwargs))
    )


def scripts(commands: list[Command], min_size: int = 5, max_size: int = 40) -> st.SearchStrategy[list]:
    """Sequences of steps, some of them grouped into a transaction of their own."""
    single = steps(commands)
    grouped = st.builds(InTransaction, st.lists(single, min_size=1, max_size=4), st.booleans())
    return st.lists(st.one_of(single, single, grouped), min_size=min_size, max_size=max_size)
