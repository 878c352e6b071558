"""Test settings: Chorus's own, plus the demo domain used by the event-store tests."""

import os
import tempfile

os.environ.setdefault("CHORUS_DATA_DIR", tempfile.mkdtemp(prefix="chorus-test-data-"))

from chorus_site.settings import *  # noqa: F403
from chorus_site.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.demo"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A file, not memory: the cross-process tests open the same database from other processes.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = str(DATA_DIR / "test.sqlite3")  # noqa: F405
# The suite empties the database between tests, which an anchor of the log would rightly report as its tail cut:
# the anchor tests (tests/events_app/test_anchors.py) choose a file of their own.
CHORUS_ANCHOR_FILE = None

# The suite's processes call tmux for this host's sessions themselves, as Chorus did before hosts: the tests of
# requests carried out by a worker (tests/sessions_app/test_requests*.py) turn this off.
CHORUS_REQUESTS_INLINE = os.environ.get("CHORUS_REQUESTS_INLINE", "1") != "0"
