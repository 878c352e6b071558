"""The supervisor of `start`'s children without processes (a scripted spawn and clock): a child that dies is
started again after a growing back-off, the others keep running, and one that keeps dying right after it starts
makes it give up with a line that says which and how."""

import signal

import pytest

from chorus_site.supervisor import BACKOFF, GIVE_UP_AFTER, STABLE_AFTER, Child, GaveUp, Supervisor, exit_meaning


class Process:
    def __init__(self, argv):
        self.argv = argv
        self.code = None
        self.signals = []

    def poll(self):
        return self.code

    def send_signal(self, number):
        self.signals.append(number)
        self.code = -number

    def wait(self, timeout=None):
        return self.code


class Scripted:
    def __init__(self):
        self.now = 0.0
        self.spawned: list[Process] = []
        self.lines: list[str] = []

    def spawn(self, argv, **_options):
        self.spawned.append(Process(argv))
        return self.spawned[-1]

    def supervisor(self) -> Supervisor:
        children = [Child("web server", ["web"]), Child("worker", ["worker"])]
        return Supervisor(children, log=self.lines.append, clock=lambda: self.now, spawn=self.spawn)

    def running(self, name):
        return [p for p in self.spawned if p.argv == [name] and p.code is None]


def test_a_killed_worker_is_started_again_after_a_second_and_the_web_server_keeps_running():
    run = Scripted()
    supervisor = run.supervisor()
    supervisor.start()
    web = run.running("web")[0]
    run.now = 120.0
    run.running("worker")[0].code = -signal.SIGKILL

    supervisor.check()
    assert run.running("worker") == []
    assert run.lines == ["the worker was killed by SIGKILL; starting it again in 1 s"]
    run.now += 0.5
    supervisor.check()
    assert run.running("worker") == []
    run.now += 0.5
    supervisor.check()

    assert len(run.running("worker")) == 1
    assert run.running("web") == [web]
    assert run.lines[-1] == "starting the worker again"


def test_a_child_that_keeps_dying_waits_longer_each_time_then_it_gives_up():
    run = Scripted()
    supervisor = run.supervisor()
    supervisor.start()
    delays = []
    with pytest.raises(GaveUp) as gave_up:
        for _ in range(GIVE_UP_AFTER):
            run.running("worker")[0].code = 1
            supervisor.check()
            delays.append(float(run.lines[-1].split(" in ")[-1].removesuffix(" s")))
            run.now += delays[-1]
            supervisor.check()
    assert delays == list(BACKOFF) + [BACKOFF[-1]] * (GIVE_UP_AFTER - 1 - len(BACKOFF))
    assert str(gave_up.value) == (
        f"the worker stopped {GIVE_UP_AFTER} times in a row within {STABLE_AFTER:.0f} s of starting "
        "(last: exited with 1); Chorus stopped"
    )


def test_a_child_that_ran_a_while_before_dying_starts_from_the_shortest_back_off_again():
    run = Scripted()
    supervisor = run.supervisor()
    supervisor.start()
    for _ in range(3):
        run.running("worker")[0].code = 1
        supervisor.check()
        run.now += 10
        supervisor.check()
    run.now += STABLE_AFTER
    run.running("worker")[0].code = 1
    supervisor.check()
    assert run.lines[-1] == "the worker exited with 1; starting it again in 1 s"


def test_stop_ends_every_running_child():
    run = Scripted()
    supervisor = run.supervisor()
    supervisor.start()
    supervisor.stop()
    assert [p.signals for p in run.spawned] == [[signal.SIGTERM], [signal.SIGTERM]]


@pytest.mark.parametrize(
    ("code", "said"), [(1, "exited with 1"), (-9, "was killed by SIGKILL"), (-99, "was killed by signal 99")]
)
def test_exit_statuses_read_as_a_person_reads_them(code, said):
    assert exit_meaning(code) == said
