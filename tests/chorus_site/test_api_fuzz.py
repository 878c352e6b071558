"""Property-based fuzzing of the whole API with schemathesis and all of its checks, against the real server: no
request, however odd, gets a 5xx; every status and body is documented; a request the schema allows is accepted
(or refused by the current state: 404, 409), one it forbids is refused. Bounded in examples per operation so that it
stays within a few minutes; schemathesis.toml beside this file names the few state-dependent refusals left."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from sessions_app.tmux import Tmux
from tests.support import ServerProcess, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = 10


@pytest.fixture
def server(subprocess_env, transactional_db, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "spec.md").write_text("# Spec\n\none\ntwo\nthree\n")
    socket_dir = tempfile.mkdtemp(prefix="chorus-fuzz-", dir="/tmp")
    env = {
        **subprocess_env,
        "PROJECT_ROOT": str(project),
        "CHORUS_TMUX_SOCKET": os.path.join(socket_dir, "socket"),
        "EDITOR": "true",
        # a session asked of another host (the fuzzer names any) waits for its worker less than the client's 10 s
        "CHORUS_REQUEST_WAIT": "1",
    }
    process = ServerProcess(env, free_port(), settings.CHORUS_TOKEN)
    try:
        yield process
    finally:
        process.stop()
        Tmux(env["CHORUS_TMUX_SOCKET"]).kill_server()
        shutil.rmtree(socket_dir, ignore_errors=True)


@pytest.mark.timeout(900)
def test_schemathesis_finds_nothing_with_all_checks(server, tmp_path):
    schemathesis = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(schemathesis),
            "--no-color",
            "--config-file",
            str(CONFIG),
            "run",
            f"{server.url}/api/openapi.json",
            "--header",
            f"Authorization: Bearer {settings.CHORUS_TOKEN}",
            "--checks",
            "all",
            "--mode",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            "15",
            "--workers",
            "2",
            "--report-dir",
            str(tmp_path / "report"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-2_000:]
    request = urllib.request.Request(
        f"{server.url}/api/openapi.json", headers={"Authorization": f"Bearer {settings.CHORUS_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        operations = sum(len(methods) for methods in json.load(answer)["paths"].values())
    assert f"{operations}/{operations}" in result.stdout  # every operation was tested
