"""Incremental reading of Claude Code transcripts for 50 sessions of 10,000 turns each, beside a bare loop.

Run on demand (not a test): `.venv/bin/python bench/usage.py [--sessions 50] [--turns 10000] [--ticks 20]`.
Each session's transcript starts with `--turns` turns (two content-block lines and a user line each, as Claude Code
writes them); the usage meter (tasks_app.worker.UsageMeter) catches up once, then each tick appends one turn per
session and times a meter tick beside a bare loop that reads the same new bytes (seek, read, split, json.loads)
in the same run. Figures are medians; the ratio is what to quote. It also checks that every byte was read once:
the bytes the meter read over all ticks equal the files' sizes, and the turns recorded equal the turns written.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0


def setup_django(data_dir: Path, claude_dir: Path) -> None:
    os.environ["CHORUS_DATA_DIR"] = str(data_dir)
    os.environ["CHORUS_DATABASE"] = str(data_dir / "chorus.sqlite3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["CHORUS_DEBUG"] = "0"
    os.environ["CLAUDE_CONFIG_DIR"] = str(claude_dir)
    os.environ.pop("CHORUS_CLAUDE_SESSIONS_DIR", None)
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def turn_lines(session: int, turn: int) -> bytes:
    """One turn as Claude Code writes it: the user's line, then one assistant line per content block."""
    user = {"type": "user", "uuid": f"u{session}-{turn}", "message": {"role": "user", "content": "go on " * 20}}
    usage = {
        "input_tokens": 12,
        "output_tokens": 345,
        "cache_read_input_tokens": 40_000,
        "cache_creation_input_tokens": 900,
    }
    message = {
        "id": f"msg_{session}_{turn}",
        "model": "claude-sonnet-4-5-20250929",
        "role": "assistant",
        "usage": usage,
    }
    blocks = [{"type": "thinking", "thinking": "hmm " * 30}, {"type": "text", "text": "done " * 40}]
    lines = [user] + [
        {"type": "assistant", "requestId": f"req_{session}_{turn}", "message": {**message, "content": [block]}}
        for block in blocks
    ]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def bare_loop(files: dict[Path, int]) -> tuple[int, dict[Path, int]]:
    """Read each file's new bytes and parse each complete line: the least any reader must do."""
    parsed, offsets = 0, {}
    for path, offset in files.items():
        with open(path, "rb") as file:
            file.seek(offset)
            data = file.read()
        complete = data.rfind(b"\n") + 1
        for line in data[:complete].splitlines():
            json.loads(line)
            parsed += 1
        offsets[path] = offset + complete
    return parsed, offsets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--turns", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chorus-bench-usage-") as temp:
        temp = Path(temp)
        (temp / "data").mkdir()
        claude_dir = temp / "claude"
        (claude_dir / "sessions").mkdir(parents=True)
        setup_django(temp / "data", claude_dir)
        from events_app import store
        from sessions_app import events as session_events
        from sessions_app.agents.claude import transcript_path
        from sessions_app.usage import read_new
        from tasks_app import selectors
        from tasks_app.worker import UsageMeter

        paths = []
        for n in range(args.sessions):
            name, cwd, pane = f"s{n}", f"/work/p{n}", f"%{n + 1}"
            created = session_events.SessionCreated(
                name=name, profile="claude", command=["claude"], cwd=cwd, pane_id=pane, tmux_session=name, pid=None
            )
            store.append("session", name, 0, [created])
            info = {"pid": 100_000 + n, "sessionId": f"conv-{n}", "cwd": cwd, "tmux": f"{name}:@1.{pane}"}
            (claude_dir / "sessions" / f"{100_000 + n}.json").write_text(json.dumps(info))
            path = transcript_path(os.environ, cwd, f"conv-{n}")
            path.parent.mkdir(parents=True)
            path.write_bytes(b"".join(turn_lines(n, t) for t in range(args.turns)))
            paths.append(path)
        total = sum(path.stat().st_size for path in paths)
        print(f"wrote {total / 1e6:.0f} MB of transcripts; catching up", file=sys.stderr, flush=True)

        meter = UsageMeter()
        start = time.perf_counter()
        meter.tick()  # follows every file and reads what is there (in chunks: it may take a few ticks)
        while any(cursor.offset < Path(cursor.path).stat().st_size for _, _, cursor in meter.files.values()):
            meter.tick()
        catch_up = time.perf_counter() - start
        start = time.perf_counter()
        bare_loop(dict.fromkeys(paths, 0))
        bare_catch_up = time.perf_counter() - start

        offsets = {Path(path): cursor.offset for path, (_, _, cursor) in meter.files.items()}
        meter.discover_seconds = float("inf")  # no looking for new files inside the timed ticks
        meter_ticks, bare_ticks, read_ticks, idle_ticks = [], [], [], []
        written = args.turns
        for tick in range(args.ticks):
            for n, path in enumerate(paths):
                with open(path, "ab") as file:
                    file.write(turn_lines(n, args.turns + tick))
            written += 1
            start = time.perf_counter()
            _, offsets = bare_loop(offsets)
            bare_ticks.append(time.perf_counter() - start)
            # the meter's reading alone, from its cursors (which this does not move)
            start = time.perf_counter()
            for _, reader, cursor in meter.files.values():
                read_new(reader, cursor)
            read_ticks.append(time.perf_counter() - start)
            start = time.perf_counter()
            meter.tick()
            meter_ticks.append(time.perf_counter() - start)
            start = time.perf_counter()
            meter.tick()  # nothing new: what a quiet tick costs
            idle_ticks.append(time.perf_counter() - start)

        read_bytes = sum(cursor.offset for _, _, cursor in meter.files.values())
        final = sum(path.stat().st_size for path in paths)
        turns = sum(row.turns for row in selectors.usage_totals("session"))
        meter_median, bare_median = statistics.median(meter_ticks), statistics.median(bare_ticks)
        read_median = statistics.median(read_ticks)
        print(f"{args.sessions} sessions x {args.turns} turns: {total / 1e6:.1f} MB of transcripts")
        print(f"catch-up: meter {catch_up:.2f} s, bare loop {bare_catch_up:.2f} s ({catch_up / bare_catch_up:.2f}x)")
        print(
            f"tick with one new turn per session (medians of {args.ticks}): reading {read_median * 1000:.2f} ms, "
            f"bare loop {bare_median * 1000:.2f} ms ({read_median / bare_median:.2f}x); the whole tick, recording "
            f"{args.sessions} UsageRecorded in one transaction, {meter_median * 1000:.1f} ms"
        )
        print(f"tick with nothing new: {statistics.median(idle_ticks) * 1000:.2f} ms")
        print(f"bytes counted {read_bytes} of {final} written; turns recorded {turns} of {written * args.sessions}")
        ok = read_bytes == final and turns == written * args.sessions
        print("no byte re-read, no turn counted twice" if ok else "MISMATCH: bytes or turns counted wrongly")
        ratio = read_median / bare_median
        verdict = "within" if ratio <= TARGET_RATIO else "over"
        print(f"reading per tick {verdict} the {TARGET_RATIO:.0f}x target of the bare loop: {ratio:.2f}x")


if __name__ == "__main__":
    main()
