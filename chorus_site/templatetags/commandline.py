"""`{% command_line "sessions new NAME" %}`: the shell command that runs a Chorus command here
(chorus_site/commandline.py)."""

from django import template

from chorus_site.commandline import command_line as _command_line

register = template.Library()


@register.simple_tag
def command_line(arguments: str) -> str:
    return _command_line(arguments)
