"""Dispatchers and people assigning at the same moment, in threads and in processes, on one database: never two
tasks in one session, never one task in two sessions, never more than the limit at work, no stray prompt."""

import random
import subprocess
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from events_app import projection, store
from events_app.audit import verify_events
from events_app.store import ConcurrencyError
from sessions_app.models import OutboxMessage
from tasks_app import services
from tasks_app.errors import TaskError
from tasks_app.models import ACTIVE, PathClaim, SessionSlot, Task
from tests.tasks_app.factories import SessionFactory, TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)

SESSIONS = [f"s{n}" for n in range(6)]


def check_invariants(limit: int) -> int:
    """Assert what no race may break; returns how many tasks are at work."""
    assignments = Counter(e.stream_id for e in store.read(stream_type="task", event_types=["TaskAssigned"]))
    assert all(count == 1 for count in assignments.values()), f"a task was assigned twice: {assignments}"
    active = list(Task.objects.filter(status__in=ACTIVE))
    sessions = [task.session for task in active]
    assert len(sessions) == len(set(sessions)), f"two tasks in one session: {sessions}"
    assert len(active) <= limit
    held = {slot.session: slot.task_id for slot in SessionSlot.objects.exclude(task_id=None)}
    assert held == {task.session: task.id for task in active}
    messages = Counter(OutboxMessage.objects.values_list("session", flat=True))
    assert messages == Counter(sessions), "every queued prompt belongs to a task at work, and only one"
    assert projection.verify() == []
    audit = verify_events()
    assert audit.ok, audit.problem
    return len(active)


def test_threads_dispatching_and_assigning_by_hand_at_once(docs, settings):
    settings.CHORUS_MAX_ACTIVE_TASKS = 5
    for name in SESSIONS:
        SessionFactory(name=name, auto_dispatch=True)
    for n in range(12):
        TaskFactory(priority=n % 3)
    seen = {task.id: task.version for task in Task.objects.all()}
    start = threading.Barrier(6)
    failures, refusals = [], []

    def run(work):
        try:
            start.wait()
            work()
        except Exception as exc:  # anything but the domain's refusals is a bug
            failures.append(repr(exc))
        finally:
            connection.close()

    def dispatcher():
        for _ in range(3):
            services.dispatch_round()

    def person(seed):
        chooser = random.Random(seed)
        for _ in range(6):
            task_id = chooser.choice(list(seen))
            try:
                services.task_assign(task_id, chooser.choice(SESSIONS), expected_version=seen[task_id])
            except (TaskError, ConcurrencyError) as exc:
                refusals.append(type(exc).__name__)

    threads = [threading.Thread(target=run, args=(dispatcher,)) for _ in range(3)]
    threads += [threading.Thread(target=run, args=(lambda s=seed: person(s),)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert check_invariants(limit=5) == 5
    assert {"ConcurrencyError", "SessionBusy"} & set(refusals), "the threads never met each other"


@pytest.mark.integration
def test_processes_dispatching_at_once(docs, settings, manage, subprocess_env, tmp_path):
    settings.CHORUS_MAX_ACTIVE_TASKS = 4
    for name in SESSIONS:
        SessionFactory(name=name, auto_dispatch=True)
    for n in range(8):
        TaskFactory(priority=n)
    go = tmp_path / "go"
    # Each process starts Django, says so, and waits for the signal, so that their rounds overlap.
    code = (
        "import os, pathlib, time; from tasks_app import services\n"
        f"pathlib.Path({str(tmp_path)!r}, f'ready-{{os.getpid()}}').touch()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.01)\n"
        "for _ in range(3): services.dispatch_round()"
    )
    env = {**subprocess_env, "PROJECT_ROOT": str(docs.root), "CHORUS_MAX_ACTIVE_TASKS": "4"}
    processes = [
        subprocess.Popen([*manage, "shell", "-c", code], env=env, stderr=subprocess.PIPE, text=True) for _ in range(3)
    ]
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("ready-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    go.touch()
    errors = [process.communicate(timeout=60)[1] for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], errors
    assert check_invariants(limit=4) == 4
    assert sorted(Task.objects.filter(status="assigned").values_list("priority", flat=True)) == [4, 5, 6, 7]


@pytest.mark.integration
def test_processes_assigning_tasks_with_overlapping_claims_at_once_let_only_one_of_each_pair_work(
    docs, settings, manage, subprocess_env, tmp_path
):
    pairs = 6
    settings.CHORUS_MAX_ACTIVE_TASKS = 2 * pairs
    for n in range(pairs):
        SessionFactory(name=f"a{n}")
        SessionFactory(name=f"b{n}")
        TaskFactory(title=f"a{n}", claims=[f"dir{n}/**"])
        TaskFactory(title=f"b{n}", claims=[f"dir{n}/x.py"])
    go = tmp_path / "go"
    # Process "a" assigns each pair's first task, process "b" its second, both at the same signal.
    code = (
        "import os, pathlib, time; from tasks_app import selectors, services; from tasks_app.errors import "
        "TaskConflict\n"
        "side = {side!r}\n"
        f"pathlib.Path({str(tmp_path)!r}, f'ready-{{side}}').touch()\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.005)\n"
        f"for n in range({pairs}):\n"
        "    task = selectors.tasks(search=f'{side}{n}').get()\n"
        "    try: services.task_assign(task.id, f'{side}{n}', expected_version=task.version)\n"
        "    except TaskConflict as exc: print(exc)"
    )
    env = {**subprocess_env, "PROJECT_ROOT": str(docs.root), "CHORUS_MAX_ACTIVE_TASKS": str(2 * pairs)}
    processes = [
        subprocess.Popen(
            [*manage, "shell", "--no-imports", "-c", code.replace("{side!r}", repr(side))],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for side in "ab"
    ]
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    go.touch()
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    at_work = {task.title for task in Task.objects.filter(status__in=ACTIVE)}
    assert len(at_work) == pairs and all(({f"a{n}", f"b{n}"} & at_work) for n in range(pairs)), at_work
    refusals = [line for out, _ in outputs for line in out.splitlines()]
    assert len(refusals) == pairs and all(" is claimed by task " in line for line in refusals), refusals
    live = {(claim.task_id, claim.glob) for claim in PathClaim.objects.all()}
    assert live == {(task.id, glob) for task in Task.objects.filter(status__in=ACTIVE) for glob in task.claims}
    check_invariants(limit=2 * pairs)


def test_the_invariants_check_can_fail(docs):
    """The race tests' check would see a task in two sessions (written behind the services' back here)."""
    SessionFactory(name="s1")
    SessionFactory(name="s2")
    task = TaskFactory()
    task = services.task_assign(task.id, "s1", expected_version=task.version)
    Task.objects.filter(pk=task.id).update(status="ready")
    services.task_assign(task.id, "s2", expected_version=task.version)
    Task.objects.filter(pk=task.id).update(status="assigned")
    with pytest.raises(AssertionError, match="assigned twice"):
        check_invariants(limit=5)
