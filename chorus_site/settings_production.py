"""Settings for serving Chorus beyond loopback, behind a TLS-terminating proxy: `manage.py check --deploy` passes.

Use with DJANGO_SETTINGS_MODULE=chorus_site.settings_production, CHORUS_HOST, CHORUS_ALLOW_REMOTE=1 and
CHORUS_ALLOWED_HOSTS set to the proxy's host name. Cookies become Secure and HSTS is sent, so plain HTTP stops
working: that is the point.
"""

from chorus_site.settings import *  # noqa: F403

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
