"""The tmux adapter against a real tmux server (a private one per test) and the fake agent."""

import json
import re
import secrets
import subprocess
import tempfile
import time

import psutil
import pytest

from sessions_app.tmux import (
    KeyNotAllowed,
    PaneGone,
    SessionExists,
    Tmux,
    clean_literal,
    clean_paste,
    end_process_tree,
    needs_capture,
    process_tree,
    running,
)

pytestmark = pytest.mark.integration

SPINNER = re.compile(r"^[·✢*✶✻✽] [A-Z][a-z]+…", re.MULTILINE)
INPUT_BOX = re.compile(r"^─{20,}\n\u276f\u00a0(?P<draft>.*)\n─{20,}$", re.MULTILINE)
# Claude Code's prompt mark (U+276F), spelled out because it looks like ">"
PROMPT = "\u276f"
DIALOG = f" Do you want to proceed?\n {PROMPT} 1. Yes\n   2. No\n"


def wait_for(condition, timeout: float = 8.0, interval: float = 0.05, message: str = ""):
    """Poll `condition` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message or condition}")
        time.sleep(interval)


def wait_for_screen(server: Tmux, pane_id: str, predicate, timeout: float = 8.0) -> str:
    last = ""

    def check():
        nonlocal last
        last = server.capture(pane_id).text
        return predicate(last)

    try:
        wait_for(check, timeout)
    except AssertionError:
        raise AssertionError(f"screen never matched; last screen:\n{last}") from None
    return last


def log_entries(path, event: str | None = None) -> list[dict]:
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [entry for entry in entries if event is None or entry["event"] == event]


def wait_for_log(path, event: str, count: int = 1) -> list[dict]:
    return wait_for(
        lambda: len(log_entries(path, event)) >= count and log_entries(path, event),
        message=f"{count} {event!r} entries in {path}",
    )


def pane_of(server: Tmux, pane_id: str):
    return next(pane for pane in server.list_panes() if pane.pane_id == pane_id)


def wait_until_dead(server: Tmux, pane_id: str):
    """The pane once dead, with its exit status.

    tmux 3.3a marks a pane dead when its terminal closes but learns the status only when it reaps the process,
    and now and then it misses the SIGCHLD (Tmux.reap)."""
    pane = wait_for(lambda: (pane := pane_of(server, pane_id)).dead and pane, message=f"{pane_id} to die")
    if pane.dead_status is None:
        server.reap()
        pane = wait_for(lambda: (pane := pane_of(server, pane_id)).dead_status is not None and pane)
    return pane


@pytest.fixture
def agent_log(tmp_path):
    return tmp_path / "agent.jsonl"


@pytest.fixture
def start_agent(tmux_server, fake_agent_cmd, agent_log):
    """Start a fake agent in a new session and wait until it has drawn its first screen."""

    def start(name: str = "agent", *options: str, **kwargs):
        pane = tmux_server.new_session(name, fake_agent_cmd("--work-seconds", "0.3", *options), **kwargs)
        wait_for_screen(tmux_server, pane.pane_id, INPUT_BOX.search)
        return pane

    return start


# --- sessions


def test_create_list_and_kill_a_session(tmux_server, start_agent, agent_log):
    created = start_agent("chorus-a", "--title", "✳ Claude Code", tag="session-1", width=120, height=40)

    assert created.session_name == "chorus-a"
    assert re.fullmatch(r"%\d+", created.pane_id)
    assert created.tag == "session-1"
    assert (created.width, created.height) == (120, 40)
    assert psutil.Process(created.pid).cmdline()[1].endswith("fake_agent.py")
    assert tmux_server.has_session("chorus-a")

    listed = pane_of(tmux_server, created.pane_id)
    assert listed.pid == created.pid
    assert listed.current_command.startswith("python")
    assert listed.title == "✳ Claude Code"
    assert listed.alternate_on
    assert not listed.dead
    assert listed.activity >= int(time.time()) - 5
    assert (listed.cursor_x, listed.cursor_y) == (2, 37)
    assert tmux_server.pane("chorus-a") == tmux_server.pane(created.pane_id)

    agent = psutil.Process(created.pid)
    assert tmux_server.kill_session("chorus-a")
    assert not tmux_server.has_session("chorus-a")
    assert not tmux_server.kill_session("chorus-a")
    assert tmux_server.list_panes() == []
    wait_for(lambda: not running([agent]), message="the agent to end on SIGHUP")


def test_a_session_named_with_spaces_and_dashes(tmux_server):
    pane = tmux_server.new_session("-my work", ["sleep", "60"], tag="t")
    assert pane.session_name == "-my work"
    assert tmux_server.has_session("-my work")
    assert tmux_server.pane("-my work").pane_id == pane.pane_id
    assert tmux_server.kill_session("-my work")


def test_session_names_match_exactly(tmux_server):
    tmux_server.new_session("chorus-12", ["sleep", "60"])
    # tmux alone would take "chorus-1" as a prefix of "chorus-12"
    assert not tmux_server.has_session("chorus-1")
    assert not tmux_server.kill_session("chorus-1")
    assert tmux_server.has_session("chorus-12")
    with pytest.raises(SessionExists):
        tmux_server.new_session("chorus-12", ["sleep", "60"])


def test_without_a_server_lists_are_empty_and_targets_are_gone(tmux_server):
    assert tmux_server.list_panes() == []
    assert tmux_server.panes_by_tag() == {}
    assert tmux_server.capture_many(["%0", "%1"]) == {}
    assert not tmux_server.has_session("chorus-a")
    assert not tmux_server.kill_session("chorus-a")
    with pytest.raises(PaneGone):
        tmux_server.capture("%0")
    with pytest.raises(PaneGone):
        tmux_server.send_text("%0", "hello")
    with pytest.raises(PaneGone):
        tmux_server.pane("chorus-a")


def test_a_server_without_sessions_lists_nothing_and_starts_one(empty_server):
    assert empty_server.list_panes() == []
    assert empty_server.poll(["%0"]) == ([], {})
    assert empty_server.capture_many(["%0", "%1"]) == {}
    assert not empty_server.has_session("chorus-a")
    assert not empty_server.kill_session("chorus-a")
    with pytest.raises(PaneGone):
        empty_server.pane("chorus-a")
    pane = empty_server.new_session("chorus-a", ["sleep", "60"])
    assert [p.pane_id for p in empty_server.list_panes()] == [pane.pane_id]
    assert empty_server.kill_session("chorus-a")
    assert empty_server.list_panes() == []


def test_command_environment_and_directory_reach_the_program(tmux_server, tmp_path):
    program = tmp_path / "dir with space" / "agent;"
    program.parent.mkdir()
    program.write_text('#!/bin/sh\nprintf "%s|%s|%s\\n" "$CHORUS_SESSION" "$PWD" "$0"\nexec sleep 60\n')
    program.chmod(0o755)

    # one element: a program path, which tmux would otherwise run as shell text
    alone = tmux_server.new_session("alone", [str(program)], cwd=tmp_path, env={"CHORUS_SESSION": "a b;"})
    # several: an argv whose last element ends in ";", which tmux would otherwise take as a command separator
    shell = tmux_server.new_session("shell", ["sh", "-c", 'printf "[%s]\\n" "$1"; exec sleep 60', "sh", "x;"])

    text = wait_for_screen(tmux_server, alone.pane_id, lambda text: "|" in text)
    assert text.splitlines()[0] == f"a b;|{tmp_path}|{program}"
    assert wait_for_screen(tmux_server, shell.pane_id, lambda text: "[" in text).startswith("[x;]\n")
    assert pane_of(tmux_server, alone.pane_id).current_path == str(tmp_path)


def command_lines() -> list[str]:
    """Every process's command line, as any local user's `ps` reads it."""
    return [" ".join(process.info["cmdline"] or []) for process in psutil.process_iter(["cmdline"])]


def test_environment_values_reach_the_program_and_no_command_line(tmux_server, tmp_path, monkeypatch):
    """This new_session starts the server, which is a fork of that tmux client and keeps its argv for life."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    secret = f"sk-ant-{secrets.token_hex(16)}"
    tricky = 'it\'s $HOME `id` "q"\n\\;'
    out = tmp_path / "env.out"
    program = ["sh", "-c", 'printf "%s|%s" "$API_KEY" "$TRICKY" > "$0.part"; mv "$0.part" "$0"; exec sleep 60', out]
    tmux_server.new_session("keyed", [str(arg) for arg in program], env={"API_KEY": secret, "TRICKY": tricky})
    wait_for(out.exists, message="the program's output")
    assert out.read_text() == f"{secret}|{tricky}"
    server = [line for line in command_lines() if "new-session" in line and str(tmux_server.socket) in line]
    assert server, "the tmux server should carry the command line of the client that started it"
    assert not [line for line in command_lines() if secret in line]
    shown = subprocess.run(["tmux", "-S", tmux_server.socket, "show-environment", "-t", "keyed"], capture_output=True)
    assert secret.encode() not in shown.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == ["env.out"], "the launcher removes its file"


def test_an_environment_that_sh_cannot_assign_is_refused_before_tmux_runs(tmux_server, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(ValueError, match="bad environment variable name 'A-B'"):
        tmux_server.new_session("bad", ["sleep", "60"], env={"A-B": "x"})
    assert not tmux_server.has_session("bad") and not list(tmp_path.iterdir())


def test_an_empty_command_starts_the_default_shell(tmux_server):
    pane = tmux_server.new_session("shell", [])
    # tmux's default-shell ($SHELL or /bin/sh); until the fork has exec'd it the command reads "tmux"
    wait_for(lambda: tmux_server.pane(pane.pane_id).current_command.endswith("sh"), message="a shell")


def test_tags_survive_and_are_found_by_a_new_adapter(tmux_server, start_agent):
    first = start_agent("chorus-a", tag="session-a;")
    second = start_agent("chorus-b", tag="session-b")
    untagged = tmux_server.new_session("mine", ["sleep", "60"])

    restarted = Tmux(tmux_server.socket)
    found = restarted.panes_by_tag()
    assert set(found) == {"session-a;", "session-b"}
    assert found["session-a;"].pane_id == first.pane_id
    assert found["session-b"].pid == second.pid

    restarted.set_tag(untagged.pane_id, "adopted")
    restarted.set_tag(second.pane_id, None)
    assert set(restarted.panes_by_tag()) == {"session-a;", "adopted"}
    with pytest.raises(PaneGone):
        restarted.set_tag("%999", "x")


def test_dead_pane_keeps_its_exit_status(tmux_server):
    pane = tmux_server.new_session("short", ["sh", "-c", "echo bye; exit 3"])
    dead = wait_until_dead(tmux_server, pane.pane_id)
    assert dead.dead_status == 3
    assert "Pane is dead (status 3," in tmux_server.capture(pane.pane_id).text
    assert tmux_server.kill_pane(pane.pane_id)
    assert not tmux_server.kill_pane(pane.pane_id)


def test_reap_brings_the_exit_status_of_programs_that_exit_at_once(tmux_server):
    """tmux 3.3a leaves about 1 in 20 of these a zombie, its status unknown until another child of the server exits:
    one at a time (the next one's exit would reap it), 150 of them, each has its status a moment after `reap`. Without
    `reap` it failed 10 runs of 10 here."""
    for n in range(150):
        pane_id = tmux_server.new_session(f"gone-{n}", ["sh", "-c", "exec no-such-program"]).pane_id
        wait_until_dead(tmux_server, pane_id)
        assert pane_of(tmux_server, pane_id).dead_status == 127
        tmux_server.kill_session(f"gone-{n}")


# --- capture


class Counting:
    """A runner that runs tmux and keeps each command line."""

    def __init__(self):
        self.commands: list[list[str]] = []

    def __call__(self, command, **options):
        self.commands.append(command)
        return subprocess.run(command, **options)


def test_capture_many_panes_in_one_tmux_process(tmux_server):
    panes = [
        tmux_server.new_session(name, ["sh", "-c", f"echo screen of {name}; exec sleep 60"])
        for name in ("one", "two", "three")
    ]
    wait_for(lambda: all("screen of" in tmux_server.capture(p.pane_id).text for p in panes))

    counting = Counting()
    adapter = Tmux(tmux_server.socket, config_file=tmux_server.config_file, run=counting)
    before = time.time()
    screens = adapter.capture_many([pane.pane_id for pane in panes])
    runs = counting.commands

    assert len(runs) == 1
    assert [screens[p.pane_id].text.splitlines()[0] for p in panes] == [
        "screen of one",
        "screen of two",
        "screen of three",
    ]
    for pane in panes:
        screen = screens[pane.pane_id]
        assert screen.text.count("\n") == 50
        assert (screen.width, screen.height, screen.dead) == (200, 50, False)
        assert before <= screen.taken_at <= time.time()


def test_capture_many_leaves_out_vanished_panes(tmux_server):
    panes = [tmux_server.new_session(name, ["sh", "-c", f"echo {name}; exec sleep 60"]) for name in "abc"]
    wait_for(lambda: all(tmux_server.capture(p.pane_id).text.strip() for p in panes))
    tmux_server.kill_session("b")

    screens = tmux_server.capture_many([panes[0].pane_id, "%999", panes[1].pane_id, panes[2].pane_id])

    assert sorted(screens) == sorted([panes[0].pane_id, panes[2].pane_id])
    assert screens[panes[2].pane_id].text.startswith("c\n")
    with pytest.raises(PaneGone):
        tmux_server.capture(panes[1].pane_id)


def test_unchanged_idle_pane_needs_no_capture(tmux_server, start_agent):
    pane = start_agent()
    # an idle agent writes nothing; wait until a capture starts a full second after its last output
    wait_for(lambda: time.time() >= pane_of(tmux_server, pane.pane_id).activity + 1.05, timeout=3)
    screen = tmux_server.capture(pane.pane_id)
    assert not needs_capture(pane_of(tmux_server, pane.pane_id), screen)

    tmux_server.send_text(pane.pane_id, "typing shows")
    wait_for_screen(tmux_server, pane.pane_id, lambda text: "typing shows" in text)
    assert needs_capture(pane_of(tmux_server, pane.pane_id), screen)


# --- typing


def test_literal_text_arrives_byte_for_byte(tmux_server, start_agent, agent_log):
    pane = start_agent()
    texts = [
        "C-c",
        "Enter",
        "-t %1 -l hello",
        "--",
        "a;",
        ";",
        "a\\;",
        "one ; two \\; three",
        "#{pane_id} #(id) $HOME ~ { } 'quoted' \"double\"",
        "safe\x1b[201~evil\n",
        "\x1b[31mred\x1b[0m\x1b]2;title\x07 bell",
        "tab\there\rreturn\x7fdel\x9bcsi\x00nul\x03etx",
        "emoji 🎉 é 中文 \u00a0nbsp",
    ]
    for count, text in enumerate(texts, start=1):
        tmux_server.send_text(pane.pane_id, text)
        tmux_server.send_keys(pane.pane_id, "Enter")
        wait_for_log(agent_log, "prompt", count)

    assert [entry["text"] for entry in log_entries(agent_log, "prompt")] == [clean_literal(t) for t in texts]
    assert log_entries(agent_log, "prompt")[9]["text"] == "safe[201~evil"


def test_literal_text_is_typed_not_submitted(tmux_server, start_agent, agent_log):
    pane = start_agent()
    tmux_server.send_text(pane.pane_id, "line one\nline two\r")
    text = wait_for_screen(tmux_server, pane.pane_id, lambda text: "line oneline two" in text)
    assert INPUT_BOX.search(text)["draft"] == "line oneline two"
    time.sleep(0.3)
    assert log_entries(agent_log, "prompt") == []


def test_long_literal_text_is_sent_in_chunks(tmux_server, start_agent, agent_log):
    pane = start_agent()
    text = "".join(f"{n:05d}é;" for n in range(1500))
    tmux_server.send_text(pane.pane_id, text)
    tmux_server.send_keys(pane.pane_id, "Enter")
    assert wait_for_log(agent_log, "prompt")[0]["text"] == text


def test_multi_line_paste_arrives_as_one_prompt(tmux_server, start_agent, agent_log):
    pane = start_agent()
    text = "first line\r\nsecond; line\n\n\tthird\x1b[201~evil\nfourth \x1b[200~ nested\x03\n\n"

    tmux_server.paste_text(pane.pane_id, text)
    screen = wait_for_screen(tmux_server, pane.pane_id, lambda text: "fourth" in text)
    assert f"{PROMPT}\u00a0first line\n  second; line\n" in screen
    time.sleep(0.3)
    assert log_entries(agent_log, "prompt") == [], "the paste itself submitted something"

    tmux_server.send_keys(pane.pane_id, "Enter")
    (prompt,) = wait_for_log(agent_log, "prompt")
    assert prompt["text"] == clean_paste(text)
    assert prompt["text"] == "first line\nsecond; line\n\n\tthird[201~evil\nfourth [200~ nested"


def test_paste_leaves_no_buffer_behind(tmux_server, start_agent):
    pane = start_agent()
    tmux_server.paste_text(pane.pane_id, "a\nb")
    wait_for_screen(tmux_server, pane.pane_id, lambda text: "\n  b" in text)
    with pytest.raises(PaneGone):
        tmux_server.paste_text("%999", "lost\ntext")
    buffers = subprocess.run(
        ["tmux", "-S", tmux_server.socket, "list-buffers", "-F", "#{buffer_name}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert buffers.stdout == ""


def test_keys_outside_the_allowlist_never_reach_the_pane(tmux_server, start_agent):
    pane = start_agent()
    tmux_server.send_text(pane.pane_id, "draft")
    with pytest.raises(KeyNotAllowed):
        tmux_server.send_keys(pane.pane_id, "C-u")
    with pytest.raises(KeyNotAllowed):
        tmux_server.send_keys(pane.pane_id, "Enter", "kill-server")
    time.sleep(0.2)
    assert INPUT_BOX.search(tmux_server.capture(pane.pane_id).text)["draft"] == "draft"
    assert tmux_server.list_panes()


def test_typing_reaches_the_program_while_the_user_scrolls(tmux_server, start_agent, agent_log):
    pane = start_agent()
    subprocess.run(["tmux", "-S", tmux_server.socket, "copy-mode", "-t", pane.pane_id], check=True)
    assert pane_of(tmux_server, pane.pane_id).in_mode

    tmux_server.send_text(pane.pane_id, "typed in copy mode")
    tmux_server.send_keys(pane.pane_id, "Enter")

    assert wait_for_log(agent_log, "prompt")[0]["text"] == "typed in copy mode"
    assert not pane_of(tmux_server, pane.pane_id).in_mode


# --- the fake agent's cycle, as captures show it


def test_busy_idle_and_permission_cycle(tmux_server, start_agent, agent_log):
    pane = start_agent()

    tmux_server.send_text(pane.pane_id, "count to three work:1.5")
    tmux_server.send_keys(pane.pane_id, "Enter")
    busy = wait_for_screen(tmux_server, pane.pane_id, SPINNER.search)
    assert "esc to interrupt" in busy.splitlines()[-1]
    assert f"{PROMPT} count to three work:1.5\n" in busy
    idle = wait_for_screen(tmux_server, pane.pane_id, lambda text: "esc to interrupt" not in text)
    assert INPUT_BOX.search(idle)
    assert not SPINNER.search(idle)
    assert "✻ Worked for" in idle

    tmux_server.send_text(pane.pane_id, "ask:rm-build please")
    tmux_server.send_keys(pane.pane_id, "Enter")
    waiting = wait_for_screen(tmux_server, pane.pane_id, lambda text: DIALOG in text)
    assert not INPUT_BOX.search(waiting)
    assert "   rm-build\n" in waiting
    assert waiting.rstrip("\n").endswith(" Esc to cancel · Tab to amend")
    tmux_server.send_keys(pane.pane_id, "Down")
    wait_for_screen(tmux_server, pane.pane_id, lambda text: f"   1. Yes\n {PROMPT} 2. No\n" in text)
    tmux_server.send_keys(pane.pane_id, "Enter")
    wait_for_screen(tmux_server, pane.pane_id, lambda text: INPUT_BOX.search(text) and DIALOG not in text)
    assert log_entries(agent_log, "permission")[-1]["answer"] == "no"

    tmux_server.send_text(pane.pane_id, "ask: again work:1")
    tmux_server.send_keys(pane.pane_id, "Enter")
    wait_for_screen(tmux_server, pane.pane_id, lambda text: DIALOG in text)
    tmux_server.send_keys(pane.pane_id, "1")
    wait_for_screen(tmux_server, pane.pane_id, SPINNER.search)
    wait_for_screen(tmux_server, pane.pane_id, lambda text: "esc to interrupt" not in text and INPUT_BOX.search(text))
    assert [entry["answer"] for entry in log_entries(agent_log, "permission")] == ["no", "yes"]


def test_start_delay_and_a_dialog_every_second_prompt(tmux_server, fake_agent_cmd, agent_log):
    pane = tmux_server.new_session("slow", fake_agent_cmd("--start-delay", "0.8", "--ask-every", "2"))
    time.sleep(0.3)
    assert not INPUT_BOX.search(tmux_server.capture(pane.pane_id).text)
    wait_for_screen(tmux_server, pane.pane_id, INPUT_BOX.search)

    for count, text in enumerate(("first work:0", "second work:0"), start=1):
        tmux_server.send_text(pane.pane_id, text)
        tmux_server.send_keys(pane.pane_id, "Enter")
        wait_for_log(agent_log, "prompt", count)
    wait_for_screen(tmux_server, pane.pane_id, lambda text: DIALOG in text and "   echo hello\n" in text)


def test_escape_interrupts_work(tmux_server, start_agent, agent_log):
    pane = start_agent()
    tmux_server.send_text(pane.pane_id, "long job work:30")
    tmux_server.send_keys(pane.pane_id, "Enter")
    wait_for_screen(tmux_server, pane.pane_id, SPINNER.search)
    tmux_server.send_keys(pane.pane_id, "Escape")
    idle = wait_for_screen(tmux_server, pane.pane_id, lambda text: "esc to interrupt" not in text)
    assert "Interrupted" in idle
    assert wait_for_log(agent_log, "interrupted")


def test_exit_command_ends_the_agent_with_status_zero(tmux_server, start_agent, agent_log):
    pane = start_agent()
    tmux_server.send_text(pane.pane_id, "/exit")
    tmux_server.send_keys(pane.pane_id, "Enter")
    dead = wait_until_dead(tmux_server, pane.pane_id)
    assert dead.dead_status == 0
    assert not dead.alternate_on
    assert log_entries(agent_log, "exit")[0]["reason"] == "/exit"
    assert log_entries(agent_log, "prompt") == []


def test_ctrl_c_twice_on_an_empty_line_exits(tmux_server, start_agent):
    pane = start_agent()
    tmux_server.send_keys(pane.pane_id, "C-c")
    pending = wait_for_screen(tmux_server, pane.pane_id, lambda text: "Press Ctrl-C again to exit" in text)
    assert INPUT_BOX.search(pending)
    tmux_server.send_keys(pane.pane_id, "C-c")
    dead = wait_until_dead(tmux_server, pane.pane_id)
    assert dead.dead_status == 0


# --- ending programs that ignore the hangup


def test_kill_session_orphans_a_program_that_ignores_sighup(tmux_server, start_agent):
    # like Gemini CLI: a launcher that runs the agent as a child, both ignoring SIGHUP
    pane = start_agent("stubborn", "--ignore-sighup", "--relaunch")
    tree = process_tree(pane.pid)
    assert len(tree) == 2
    assert tree[0].pid == pane.pid

    try:
        assert tmux_server.kill_session("stubborn")
        assert not tmux_server.has_session("stubborn")
        time.sleep(0.5)
        assert running(tree) == tree, "both processes should have outlived the hangup"
    finally:
        survivors = end_process_tree(tree, timeout=2.0)
    assert survivors == []


def test_end_process_tree_of_a_gone_process_is_harmless():
    assert process_tree(2**22 + 12345) == []
    assert end_process_tree([]) == []


def test_poll_lists_every_pane_and_captures_the_named_ones_in_one_call(tmux_server, fake_agent_cmd):
    first = tmux_server.new_session("p1", fake_agent_cmd(), tag="p1")
    second = tmux_server.new_session("p2", fake_agent_cmd(), tag="p2")
    counting = Counting()
    adapter = Tmux(tmux_server.socket, config_file=tmux_server.config_file, run=counting)
    deadline = time.monotonic() + 10
    while True:
        panes, screens = adapter.poll([second.pane_id])
        if "Fake Agent" in screens[second.pane_id].text or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert {p.pane_id for p in panes} == {first.pane_id, second.pane_id}
    assert set(screens) == {second.pane_id}
    assert "Fake Agent" in screens[second.pane_id].text
    prefix = ["tmux", "-u", "-S", str(tmux_server.socket), "-f", str(tmux_server.config_file)]
    assert all(command[: len(prefix) + 1] == [*prefix, "list-panes"] for command in counting.commands)
    tmux_server.kill_session("p2")
    panes, screens = tmux_server.poll([second.pane_id])
    assert [p.pane_id for p in panes] == [first.pane_id] and screens == {}
    tmux_server.kill_server()
    assert tmux_server.poll([first.pane_id]) == ([], {})


def test_poll_through_a_control_client_starts_no_process_and_sees_what_one_tmux_process_sees(
    tmux_server, fake_agent_cmd
):
    first = tmux_server.new_session("c1", fake_agent_cmd(), tag="c1")
    second = tmux_server.new_session("c2", fake_agent_cmd(), tag="c2")
    counting = Counting()
    adapter = Tmux(tmux_server.socket, config_file=tmux_server.config_file, run=counting, control=True)
    try:
        adapter.poll()  # no client yet: one tmux process, and the client attaches to the oldest Chorus pane's session
        client = adapter._control.process
        assert client is not None
        wanted = [first.pane_id, second.pane_id]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            panes, screens = adapter.poll(wanted)
            if all("Fake Agent" in screens[pane_id].text for pane_id in wanted):
                break
            time.sleep(0.1)
        assert len(counting.commands) == 1
        assert {p.pane_id for p in panes} == set(wanted)
        _panes, once = tmux_server.poll(wanted)
        assert {pane_id: screen.text for pane_id, screen in screens.items()} == {
            pane_id: screen.text for pane_id, screen in once.items()
        }
        # attached read-only, without a size of its own: a person's view of the session is untouched
        clients = subprocess.run(
            ["tmux", "-S", str(tmux_server.socket), "list-clients", "-F", "#{client_pid} #{client_flags}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        flags = dict(line.split(" ", 1) for line in clients.splitlines())[str(client.pid)]
        assert {"control-mode", "ignore-size", "no-output", "read-only"} <= set(flags.split(","))
        assert tmux_server.pane(first.pane_id).width == first.width
        # its session ends: tmux detaches it, the poll goes on without it and the next attaches anew
        tmux_server.kill_session("c1")
        client.wait(timeout=5)
        panes, screens = adapter.poll(wanted)
        assert [p.pane_id for p in panes] == [second.pane_id] and set(screens) <= {second.pane_id}
        adapter._control._tried_at = -1e9  # past the retry pause
        adapter.poll()
        assert adapter._control.running()
        panes, screens = adapter.poll([second.pane_id])
        assert [p.pane_id for p in panes] == [second.pane_id] and set(screens) == {second.pane_id}
    finally:
        adapter.close()
    assert client.returncode is not None and adapter._control.process is None
