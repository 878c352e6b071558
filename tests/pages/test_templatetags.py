"""The pages' template helpers: `{% url %}` answers as Django's does, remembering what it reversed."""

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.urls import NoReverseMatch, path

from chorus_site.templatetags import chorus


def _view(request):
    raise AssertionError("never called")


urlpatterns = [path("elsewhere/<int:task_id>/", _view, name="task")]


def render(text: str, **context) -> str:
    return Template("{% load chorus %}" + text).render(Context(context))


def test_url_reverses_as_djangos_does_and_remembers():
    chorus._reversed.cache_clear()
    django = Template("{% url 'task-status' task %}|{% url 'session' name %}|{% url 'board' %}")
    context = {"task": 7, "name": "a&b"}
    assert render("{% url 'task-status' task %}|{% url 'session' name %}|{% url 'board' %}", **context) == (
        django.render(Context(context))
    )
    render("{% url 'task-status' 8 %}{% url 'task-status' 8 as again %}{{ again }}")
    assert chorus._reversed.cache_info().hits >= 1


def test_url_follows_a_changed_urlconf():
    assert render("{% url 'task' 3 %}") == "/tasks/3/"
    with override_settings(ROOT_URLCONF=__name__):
        assert render("{% url 'task' 3 %}") == "/elsewhere/3/"
    assert render("{% url 'task' 3 %}") == "/tasks/3/"


def test_url_fails_as_djangos_does():
    with pytest.raises(NoReverseMatch):
        render("{% url 'nothing' %}")
    assert render("{% url 'nothing' as link %}[{{ link }}]") == "[]"


def test_a_name_breaks_only_at_its_seams_and_stays_escaped():
    assert chorus.seams("SessionStatusChanged") == "Session<wbr>Status<wbr>Changed"
    assert chorus.seams("docs/a_b.md") == "docs/<wbr>a_<wbr>b.<wbr>md"
    assert chorus.seams("<b>Evil</b>") == "&lt;b&gt;Evil&lt;/<wbr>b&gt;"
    assert chorus.seams("SQL") == "SQL"
