"""`manage.py token show|rotate`: the login URL, or a new token that logs out every browser and script using the old
one, in every running Chorus process too (they read the token file again when it changes)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import CommandError

from chorus_site import config
from chorus_site.auth import current_token
from events_app.commands import DomainCommand


class Command(DomainCommand):
    help = "Show the login URL, or rotate the token: every session and bearer made with the old one stops working."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        for action, help_text in (
            ("show", "the login URL with the token in force"),
            ("rotate", "make a new token (the old one, its sessions and bearers stop working)"),
        ):
            sub.add_parser(action, help=help_text).add_argument(
                "--json", action="store_true", help="print JSON instead of text"
            )

    def handle(self, *args, action, **options):
        if action == "rotate":
            if settings.CHORUS_TOKEN_FILE is None:
                raise CommandError("the token is fixed by CHORUS_TOKEN in the environment: change it there")
            token = config.replace_secret(settings.CHORUS_TOKEN_FILE)
        else:
            token = current_token()
            if token is None:
                raise CommandError(f"no token in {settings.CHORUS_TOKEN_FILE}: make one with `token rotate`")
        url = config.login_url(settings.CHORUS_HOST, settings.CHORUS_PORT, token)
        if options["json"]:
            self.stdout.write(json.dumps({"login_url": url}))
        elif action == "rotate":
            self.stdout.write(f"A new token is in force: browsers and scripts using the old one are logged out.\n{url}")
        else:
            self.stdout.write(url)
