"""The API's interactive docs (/api/docs): Swagger UI from static/vendor/swagger-ui/, never from a CDN, so the page
works offline and loads nothing from anywhere else."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.openapi.docs import Swagger


class VendoredSwagger(Swagger):
    """ninja's Swagger docs rendered from our template, whose scripts and styles are the vendored swagger-ui-dist.
    (ninja uses its own template only when `ninja` is an installed app, and a CDN copy otherwise.)"""

    template = "api_docs.html"

    def render_page(self, request: HttpRequest, api, **kwargs) -> HttpResponse:
        configuration = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {"api": api, "swagger_settings": json.dumps(configuration)}
        return render(request, self.template, context)
