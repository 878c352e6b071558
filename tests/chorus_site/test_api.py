"""The API's one mapping of domain errors to HTTP: the error's kind gives the status; a concurrency conflict also
says which version the caller expected and which the stream is at."""

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from chorus_site.api import api
from events_app.errors import ConcurrencyError, Conflict, DomainError, NotFound
from tasks_app import services as task_services
from tasks_app.errors import TaskConflict, UnknownTask

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DomainError("bad input"), 400),
        (NotFound("no such thing"), 404),
        (UnknownTask("no task 9"), 404),
        (Conflict("refused"), 409),
        (TaskConflict("a cycle"), 409),
    ],
)
def test_a_domain_error_answers_with_the_status_of_its_kind(error, status):
    response = api.on_exception(RequestFactory().get("/api/x"), error)
    assert response.status_code == status
    assert response.content == f'{{"detail": "{error}"}}'.encode()


def test_a_concurrency_error_says_which_versions():
    response = api.on_exception(RequestFactory().get("/api/x"), ConcurrencyError("task", "3", 1, 2))
    assert response.status_code == 409
    assert b'"expected": 1, "actual": 2' in response.content


def test_an_endpoint_refusing_a_stale_version_answers_409():
    task = task_services.task_create("Stale")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {settings.CHORUS_TOKEN}")
    response = client.post(f"/api/tasks/{task.id}/archive", {"version": 0}, content_type="application/json")
    assert response.status_code == 409
    assert response.json()["expected"] == 0 and response.json()["actual"] == task.version
    assert client.get("/api/sessions/nobody").status_code == 404
