"""factory-boy factories: sessions as the read model holds them, built the only way rows come to be (an event)."""

from __future__ import annotations

import factory

from events_app import store
from sessions_app import events as ev
from sessions_app.models import Session


class SessionFactory(factory.Factory):
    """`SessionFactory(profile="codex")` records SessionCreated (no tmux involved) and returns the Session row."""

    class Meta:
        model = ev.SessionCreated

    name = factory.Sequence(lambda n: f"s{n}")
    profile = "aider"  # an agent: dispatch and next_task take only agents' sessions
    command = factory.LazyFunction(list)
    cwd = "/tmp"
    pane_id = factory.Sequence(lambda n: f"%{n + 1}")
    tmux_session = factory.SelfAttribute("name")
    pid = factory.Sequence(lambda n: 40000 + n)

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Session:
        created = model_class(*args, **kwargs)
        store.append("session", created.name, store.stream_version("session", created.name), [created])
        return Session.objects.get(pk=created.name)


class AdoptedSessionFactory(SessionFactory):
    """A tmux pane Chorus did not start, adopted (SessionAdopted): it runs already, so it is unknown, not starting."""

    class Meta:
        model = ev.SessionAdopted
