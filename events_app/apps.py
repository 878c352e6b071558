from django.apps import AppConfig


class EventsAppConfig(AppConfig):
    name = "events_app"
    verbose_name = "Events"

    def ready(self) -> None:
        from events_app import anchors, live, policies, projection, projectors, store  # noqa: F401  (projectors registers)

        # Inside every append, in this order: read models first, so policies see the event's effects.
        store.on_append(projection.project)
        store.on_append(policies.run_in_transaction)
        store.after_commit(live.wake)
        # After the commit of each append (on_commit, with the head that append left): the signed anchor.
        store.on_append(anchors.anchor_after_commit)
