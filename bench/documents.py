"""Documents: scanning a generated tree of 5,000 documents, and a file save becoming DocumentChanged through the
real watcher.

Run: .venv/bin/python bench/documents.py [--files 5000] [--rounds 3] [--saves 30]

It prints, as medians:
- the first scan (every file read, hashed and recorded) and a rescan with nothing changed (target <= 1 s), each in
  a fresh process and database per round, beside baselines on the same tree in the same run: a bare os.walk + stat
  of every file, and a bare read + sha256 of every file; also a rescan after every file was touched (same bytes,
  new mtime: each is read again, nothing is recorded); and the floor under recording: as many
  DocumentAdded events appended through the store, one per stream, in the scan's batches (append_many), with no
  file read, in a fresh process and database of its own;
- from a save (plain rewrite, or a temporary file renamed over the document) to DocumentChanged committed, p50 and
  p95 (target p95 <= 1 s), through the DocumentWatcher job in a real worker process, beside a bare watchdog
  observer's delivery of the same saves' first event;
- building a prompt with 20 references into 10,000-line documents (tasks_app), when tasks_app has it;
- a change of a 10,000-line document that 20 tasks refer to, recorded with the references following it in the same
  transaction (moved by one line each time), beside a bare read + sha256 + split of the same file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OLD = time.time() - 3600


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def generate_tree(root: Path, files: int) -> list[Path]:
    """`files` Markdown documents in directories of 100, a few hundred lines of text each, dated an hour ago (as
    most of a project's files are); plus an ignored build/ and a node_modules/ that must cost nothing."""
    documents = []
    for index in range(files):
        path = root / f"area{index // 1000:02d}" / f"part{index // 100 % 10:02d}" / f"doc{index:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(f"Line {line} of document {index}: some design text to quote.\n" for line in range(40))
        path.write_text(f"# Document {index}\n\n{body}")
        os.utime(path, (OLD, OLD))
        documents.append(path)
    (root / ".gitignore").write_text("build/\n")
    for noise in ("build", "node_modules/pkg"):
        for index in range(200):
            path = root / noise / f"noise{index}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("ignored\n")
    return documents


def setup_django(data_dir: Path, project: Path) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        CHORUS_DATA_DIR=str(data_dir),
        PROJECT_ROOT=str(project),
        CHORUS_LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- child processes: a fresh database each --------------------------------------------------------------------


def child_scan(data_dir: Path, project: Path, rescans: int) -> None:
    setup_django(data_dir, project)
    from documents_app import services

    first = services.documents_scan()
    unchanged = []
    for _ in range(rescans):
        result = services.documents_scan()
        assert result.unchanged == first.added and not (result.added or result.changed or result.removed), result
        unchanged.append(result.seconds)
    now = time.time()
    for path in project.rglob("doc*.md"):
        os.utime(path, (now - 10, now - 10))
    touched = services.documents_scan()
    assert not (touched.added or touched.changed or touched.removed), touched
    # Touching set every ctime to now: the scanner trusts a file's stat again once it is RACY_NS old.
    time.sleep(services.RACY_NS / 1e9)
    after_touch = services.documents_scan().seconds
    print(
        json.dumps(
            {
                "documents": first.added,
                "first": first.seconds,
                "unchanged": unchanged,
                "touched": touched.seconds,
                "after_touch": after_touch,
            }
        )
    )


def child_floor(data_dir: Path, project: Path, count: int) -> None:
    """In a fresh database, as a first scan finds it: `count` DocumentAdded events appended, each to its own stream
    as a scan does, BATCH_FILES to one append_many, with no file read; what recording the documents costs the event
    store and its projections."""
    setup_django(data_dir, project)
    from documents_app import events as ev
    from documents_app import services
    from events_app import store

    added = ev.DocumentAdded(title="Floor", line_count=42, sha256="0" * 64, size=2400)
    started = time.perf_counter()
    for start in range(0, count, services.BATCH_FILES):
        indexes = range(start, min(count, start + services.BATCH_FILES))
        store.append_many(("document", f"floor/doc{index:05d}.md", 0, [added]) for index in indexes)
    print(json.dumps({"appends": time.perf_counter() - started}))


def child_worker(data_dir: Path, project: Path) -> None:
    setup_django(data_dir, project)
    from chorus_site.worker import Worker

    Worker(job_paths=["documents_app.watcher.DocumentWatcher"]).run()


# --- the parent ------------------------------------------------------------------------------------------------


def baseline_walk(project: Path) -> float:
    started = time.perf_counter()
    for directory, _dirs, names in os.walk(project):
        for name in names:
            os.stat(os.path.join(directory, name))
    return time.perf_counter() - started


def baseline_hash(documents: list[Path]) -> float:
    started = time.perf_counter()
    for path in documents:
        hashlib.sha256(path.read_bytes()).hexdigest()
    return time.perf_counter() - started


def run_child(args: list[str], env: dict) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"child {args[1]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def save(path: Path, text: str, atomic: bool) -> None:
    if atomic:
        temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
        temporary.write_text(text)
        os.replace(temporary, path)
    else:
        path.write_text(text)


def watcher_latency(work: Path, project: Path, documents: list[Path], saves: int, env: dict) -> list[float]:
    """Seconds from each save to its DocumentChanged being visible in the database of a worker process."""
    data_dir = work / "data-watch"
    worker = subprocess.Popen(
        [sys.executable, __file__, "--child", "worker", "--data", str(data_dir), "--project", str(project)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    latencies = []
    try:
        database = data_dir / "chorus.sqlite3"
        deadline = time.monotonic() + 300
        while not database.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        connection = sqlite3.connect(database, timeout=30)

        def count(event_type: str, stream_id: str | None = None) -> int:
            sql = "SELECT COUNT(*) FROM chorus_event WHERE event_type = ?"
            params = [event_type]
            if stream_id is not None:
                sql += " AND stream_id = ?"
                params.append(stream_id)
            try:
                return connection.execute(sql, params).fetchone()[0]
            except sqlite3.OperationalError:
                return 0  # not migrated yet

        while count("DocumentAdded") < len(documents):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the worker did not scan the tree: {worker.stderr.read()[-3000:]}")
            time.sleep(0.2)
        for index in range(saves):
            path = documents[(index * 7919) % len(documents)]
            stream_id = path.relative_to(project).as_posix()
            before = count("DocumentChanged", stream_id)
            saved = time.monotonic()
            save(path, path.read_text() + f"edit {index}\n", atomic=index % 2 == 1)
            while count("DocumentChanged", stream_id) == before:
                if time.monotonic() - saved > 10:
                    raise SystemExit(f"no DocumentChanged for {stream_id} within 10 s")
                time.sleep(0.005)
            latencies.append(time.monotonic() - saved)
            time.sleep(0.3)
        connection.close()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    return latencies


def bare_watchdog_latency(project: Path, documents: list[Path], saves: int) -> list[float]:
    """Seconds from each save to a bare watchdog observer's first event for that file: the floor under any
    watcher."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    seen: dict[str, float] = {}
    arrived = threading.Event()
    wanted: list[str] = [""]

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event):
            for raw in (event.src_path, getattr(event, "dest_path", "")):
                if os.fsdecode(raw) == wanted[0] and wanted[0] not in seen:
                    seen[wanted[0]] = time.monotonic()
                    arrived.set()

    observer = Observer()
    observer.schedule(Handler(), str(project), recursive=True)
    observer.start()
    latencies = []
    try:
        for index in range(saves):
            path = documents[(index * 104729) % len(documents)]
            wanted[0] = str(path)
            seen.pop(str(path), None)
            arrived.clear()
            saved = time.monotonic()
            save(path, path.read_text() + f"bare {index}\n", atomic=index % 2 == 1)
            if not arrived.wait(10):
                raise SystemExit(f"watchdog reported nothing for {path} within 10 s")
            latencies.append(seen[str(path)] - saved)
            time.sleep(0.05)
    finally:
        observer.stop()
        observer.join()
    return latencies


def bench_prompt(work: Path) -> None:
    """Building a prompt with 20 references into 10,000-line documents, beside a bare read and slice of the same
    ranges; skipped until tasks_app provides tasks_app.prompts.build_prompt."""
    try:
        from tasks_app.prompts import build_prompt
    except ImportError:
        print("\nprompt with 20 references into 10,000-line documents: skipped (no tasks_app.prompts.build_prompt)")
        return
    from types import SimpleNamespace

    from django.test import override_settings

    from documents_app import services

    project = work / "prompt-project"
    project.mkdir()
    names = [f"spec{index}.md" for index in range(4)]
    for name in names:
        (project / name).write_text("".join(f"{name} line {line}: text of the design.\n" for line in range(10_000)))
    references = [
        SimpleNamespace(path=name, start=start, end=start + 40) for name in names for start in range(100, 10_000, 1_990)
    ][:20]
    task = SimpleNamespace(id="t1", title="Bench", description="Quote the ranges.", priority=0, labels=["bench"])
    timings, bare = [], []
    with override_settings(PROJECT_ROOT=project, CHORUS_PROMPT_TEMPLATE=""):
        # References may only name recorded documents.
        services.documents_scan()
        for _ in range(20):
            started = time.perf_counter()
            build_prompt(task, references)
            timings.append(time.perf_counter() - started)
            started = time.perf_counter()
            texts = {name: (project / name).read_text().split("\n") for name in names}
            "\n".join("\n".join(texts[r.path][r.start - 1 : r.end]) for r in references)
            bare.append(time.perf_counter() - started)
    print(f"\nprompt with {len(references)} references into 10,000-line documents (median of 20)")
    print(f"  {'build_prompt':28}{statistics.median(timings) * 1000:8.2f} ms")
    print(f"  {'baseline: bare read + slice':28}{statistics.median(bare) * 1000:8.2f} ms")


def bench_follow(work: Path) -> None:
    """A change of a 10,000-line document with 20 references into it, recorded by document_changed_on_disk (the
    watcher's call) with the references following in its transaction, beside a bare read + sha256 + split."""
    from django.test import override_settings

    from documents_app import services
    from documents_app.content import decode, split_lines
    from tasks_app import services as task_services
    from tasks_app.models import Reference

    project = work / "follow-project"
    project.mkdir()
    spec = project / "spec.md"
    lines = [f"spec line {line}: text of the design." for line in range(10_000)]
    spec.write_text("\n".join(lines) + "\n")
    timings, bare = [], []
    with override_settings(PROJECT_ROOT=project, CHORUS_PROMPT_TEMPLATE=""):
        services.documents_scan()
        for index in range(20):
            start = 100 + index * 490
            task_services.task_create(f"bench {index}", references=[f"spec.md:{start}-{start + 30}"])
        for index in range(20):
            lines.insert(0, f"inserted line {index}")
            spec.write_text("\n".join(lines) + "\n")
            started = time.perf_counter()
            assert services.document_changed_on_disk("spec.md") == "changed"
            timings.append(time.perf_counter() - started)
            started = time.perf_counter()
            data = spec.read_bytes()
            hashlib.sha256(data).hexdigest()
            split_lines(decode(data))
            bare.append(time.perf_counter() - started)
        assert min(Reference.objects.values_list("start", flat=True)) == 120, "each change moved them by a line"
    print("\nchange of a 10,000-line document with 20 references following it (median of 20)")
    print(f"  {'document_changed_on_disk':28}{statistics.median(timings) * 1000:8.2f} ms")
    print(f"  {'baseline: read + sha256 + split':28}{statistics.median(bare) * 1000:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes for the scan figures")
    parser.add_argument("--rescans", type=int, default=5, help="unchanged rescans per round")
    parser.add_argument("--saves", type=int, default=30)
    parser.add_argument("--child", choices=["scan", "floor", "worker"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--project", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "scan":
        child_scan(args.data, args.project, args.rescans)
        return
    if args.child == "floor":
        child_floor(args.data, args.project, args.files)
        return
    if args.child == "worker":
        child_worker(args.data, args.project)
        return

    work = Path(tempfile.mkdtemp(prefix="chorus-bench-documents-", dir="/tmp"))
    try:
        project = work / "project"
        documents = generate_tree(project, args.files)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        print(f"tree: {len(documents)} documents of ~2.4 KB, plus 400 ignored files; {os.cpu_count()} cores")
        walks = [baseline_walk(project) for _ in range(5)]
        hashes = [baseline_hash(documents) for _ in range(5)]
        scan_args = ["--child", "scan", "--project", str(project), "--rescans", str(args.rescans)]
        rounds = [run_child([*scan_args, "--data", str(work / f"data-{r}")], env) for r in range(args.rounds)]
        assert all(r["documents"] == len(documents) for r in rounds), rounds
        floor_args = ["--child", "floor", "--project", str(project), "--files", str(len(documents))]
        floors = [
            run_child([*floor_args, "--data", str(work / f"floor-{r}")], env)["appends"] for r in range(args.rounds)
        ]
        unchanged = [s for r in rounds for s in r["unchanged"]]
        print(f"\nscan of {len(documents)} documents (median; {args.rounds} fresh processes)")
        print(f"  {'first scan (read, hash, record)':44}{statistics.median(r['first'] for r in rounds):8.3f} s")
        print(f"  {'rescan, nothing changed (target <= 1 s)':44}{statistics.median(unchanged):8.3f} s")
        print(f"  {'rescan after touching every file':44}{statistics.median(r['touched'] for r in rounds):8.3f} s")
        print(f"  {'rescan after that, 2 s later':44}{statistics.median(r['after_touch'] for r in rounds):8.3f} s")
        print(f"  {'baseline: bare os.walk + stat':44}{statistics.median(walks):8.3f} s")
        print(f"  {'baseline: bare read + sha256 of every file':44}{statistics.median(hashes):8.3f} s")
        appends = statistics.median(floors)
        print(f"  {'floor: one DocumentAdded appended per document':44}{appends:8.3f} s")
        first = statistics.median(r["first"] for r in rounds)
        print(
            f"  first scan / bare read + sha256 {first / statistics.median(hashes):.1f}x (target 3x); "
            f"the appends alone {appends / statistics.median(hashes):.1f}x"
        )

        latencies = watcher_latency(work, project, documents, args.saves, env)
        bare = bare_watchdog_latency(project, documents, args.saves)
        print(f"\nsave -> DocumentChanged committed, through the worker's DocumentWatcher ({len(latencies)} saves)")
        print(f"  {'':28}{'p50 ms':>10}{'p95 ms':>10}")
        print(
            f"  {'watcher (target p95 <= 1000)':28}{percentile(latencies, 0.5) * 1000:10.0f}"
            f"{percentile(latencies, 0.95) * 1000:10.0f}"
        )
        print(
            f"  {'baseline: bare watchdog':28}{percentile(bare, 0.5) * 1000:10.1f}{percentile(bare, 0.95) * 1000:10.1f}"
        )

        setup_django(work / "data-prompt", work / "prompt-project")
        bench_prompt(work)
        bench_follow(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
