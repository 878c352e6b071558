from django.contrib import admin
from django.urls import path

from chorus_site import auth, views

admin.site.site_header = "Chorus admin"
admin.site.site_title = "Chorus"

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("admin/", admin.site.urls),
    path("", views.home, name="home"),
]
