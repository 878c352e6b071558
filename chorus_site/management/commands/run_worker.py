from django.core.management.base import BaseCommand

from chorus_site.worker import Worker


class Command(BaseCommand):
    help = "Run the background worker (tmux polling, document watching, dispatch) until SIGTERM or Ctrl-C."

    def handle(self, *args, **options):
        Worker().run()
