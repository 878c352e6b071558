from chorus_site.worker import Worker
from events_app.commands import DomainCommand


class Command(DomainCommand):
    help = "Run the background worker (tmux polling, document watching, dispatch) until SIGTERM or Ctrl-C."
    requires_system_checks = "__all__"  # once, for a process that runs for hours

    def handle(self, *args, **options):
        Worker().run()
