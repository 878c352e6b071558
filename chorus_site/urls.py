from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import path, re_path

from chorus_site import auth, views
from chorus_site.api import api

admin.site.site_header = "Chorus admin"
admin.site.site_title = "Chorus"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", views.home, name="home"),
    # A localhost tool has no front proxy: static files (ours, htmx, the admin's) come from Django itself.
    re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
]
