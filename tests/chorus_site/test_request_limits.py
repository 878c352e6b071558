"""A body over the size limit that reaches Django (its own check, DATA_UPLOAD_MAX_MEMORY_SIZE; the web server refuses
most of them earlier, tests/chorus_site/test_request_bodies.py): the API answers JSON naming the limit, like every
other API error, and a page says the same in words."""

import json

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    return {"HTTP_AUTHORIZATION": f"Bearer {settings.CHORUS_TOKEN}"}


def test_an_api_body_over_the_limit_gets_json_413_naming_the_limit(client, small_limit):
    body = json.dumps({"title": "x" * 2000})
    answer = client.post("/api/tasks", data=body, content_type="application/json", **small_limit)
    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/json"
    assert answer.json() == {"detail": "the request body is too large: at most 1000 bytes are accepted"}


def test_too_many_form_fields_get_400_saying_so(client, small_limit, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    client.get("/login/", {"token": small_limit["HTTP_AUTHORIZATION"].split()[1]})
    answer = client.post("/tasks/new", {"title": "t", "a": "1", "b": "2", "c": "3"})
    assert answer.status_code == 400
    assert b"fields" in answer.content
    assert b"<html" not in answer.content


def test_a_page_form_over_the_limit_says_so_in_words(client, small_limit):
    client.get("/login/", {"token": small_limit["HTTP_AUTHORIZATION"].split()[1]})
    answer = client.post("/tasks/new", {"title": "x" * 2000})
    assert answer.status_code == 413
    assert b"at most 1000 bytes" in answer.content
