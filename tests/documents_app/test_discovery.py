import os
from pathlib import Path

import pytest

from documents_app import discovery
from documents_app.discovery import Config, Found, Skipped


def config(root: Path, globs=("*.md", "*.markdown", "*.rst", "*.txt"), max_bytes=1000, data_dir=None) -> Config:
    return Config(root=root, globs=tuple(globs), max_bytes=max_bytes, data_dir=data_dir or root.parent / "data")


def found(cfg: Config) -> set[str]:
    return {item.path for item in discovery.walk(cfg) if isinstance(item, Found)}


def make(root: Path, *paths: str, content: str = "text\n") -> None:
    for path in paths:
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "project"
    path.mkdir()
    return path


def test_default_globs_choose_markdown_rst_and_text(root):
    make(root, "a.md", "b.markdown", "docs/c.rst", "d.txt", "e.py", "f.MD.bak", "docs/deep/g.md")
    assert found(config(root)) == {"a.md", "b.markdown", "docs/c.rst", "d.txt", "docs/deep/g.md"}


def test_globs_follow_gitignore_syntax(root):
    make(root, "docs/a.adoc", "other/docs/b.adoc", "c.adoc", "x.md")
    assert found(config(root, globs=["docs/*.adoc"])) == {"docs/a.adoc"}
    assert found(config(root, globs=["*.adoc"])) == {"docs/a.adoc", "other/docs/b.adoc", "c.adoc"}


def test_never_searched_directories_and_the_data_directory(root):
    make(root, ".git/x.md", "node_modules/p/x.md", ".venv/lib/x.md", "sub/node_modules/y.md", "data/z.md", "ok.md")
    assert found(config(root, data_dir=root / "data")) == {"ok.md"}


def test_nested_gitignores_negation_and_excluded_directories(root):
    make(root, "a.md", "notes.txt", "build/x.md", "docs/a.md", "docs/draft.md", "docs/keep.txt")
    make(root, "docs/sub/b.md", "docs/sub/c.md", "gen/keep.md", "docs/private/p.md")
    (root / ".gitignore").write_text("build/\n*.txt\ngen/\n# a comment\n")
    (root / "docs" / ".gitignore").write_text("draft.md\n!keep.txt\nprivate\n")
    (root / "docs" / "sub" / ".gitignore").write_text("c.md\n")
    # Re-including a file inside an excluded directory does not work in git either.
    (root / "gen" / ".gitignore").write_text("!keep.md\n")
    cfg = config(root)
    assert found(cfg) == {"a.md", "docs/a.md", "docs/keep.txt", "docs/sub/b.md"}


def test_git_info_exclude_counts_below_the_root_gitignore(root):
    make(root, "a.md", "b.md", "c.md")
    (root / ".git" / "info").mkdir(parents=True)
    (root / ".git" / "info" / "exclude").write_text("a.md\nb.md\n")
    (root / ".gitignore").write_text("!b.md\n")
    assert found(config(root)) == {"b.md", "c.md"}


def test_symbolic_links_are_not_followed_or_listed(root, tmp_path):
    outside = tmp_path / "outside"
    make(outside, "secret.md")
    make(root, "real.md")
    (root / "link.md").symlink_to(root / "real.md")
    (root / "escape.md").symlink_to(outside / "secret.md")
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    assert found(config(root)) == {"real.md"}


def test_names_that_cannot_be_stream_ids_are_skipped_with_a_note(root):
    long_name = "d/" * 99 + "x.md"
    make(root, long_name)
    (root / os.fsdecode(b"bad\xff.md")).write_text("x")
    notes = {item.path: item.reason for item in discovery.walk(config(root)) if isinstance(item, Skipped)}
    assert notes[long_name] == "its path is longer than 200 characters"
    assert notes[os.fsdecode(b"bad\xff.md")] == "its name is not valid UTF-8"


def test_eligible_agrees_with_the_walk(root):
    make(root, "a.md", "build/x.md", "docs/a.md", "docs/draft.md", "docs/sub/b.md", "node_modules/y.md", "z.py")
    (root / ".gitignore").write_text("build/\n")
    (root / "docs" / ".gitignore").write_text("draft.md\n")
    (root / "real").mkdir()
    make(root, "real/r.md")
    (root / "via-link").symlink_to(root / "real", target_is_directory=True)
    cfg = config(root)
    walked = found(cfg)
    candidates = ["a.md", "build/x.md", "docs/a.md", "docs/draft.md", "docs/sub/b.md", "node_modules/y.md", "z.py"]
    for path in [*candidates, "real/r.md", "via-link/r.md"]:
        assert (discovery.eligible(cfg, path) is None) == (path in walked), path
    assert discovery.eligible(cfg, "via-link/r.md") == "via-link/ is a symbolic link"
    assert discovery.eligible(cfg, "build/x.md") == "build/ is ignored by .gitignore"


def test_read_refuses_what_cannot_be_a_document(root):
    make(root, "ok.md")
    (root / "big.md").write_bytes(b"x" * 1001)
    (root / "link.md").symlink_to(root / "ok.md")
    os.mkfifo(root / "fifo.md")
    assert discovery.read(str(root / "ok.md"), 1000, root=root)[0] == b"text\n"
    with pytest.raises(discovery.Unreadable, match="larger than CHORUS_DOCUMENT_MAX_BYTES"):
        discovery.read(str(root / "big.md"), 1000, root=root)
    with pytest.raises(discovery.Unreadable, match="symbolic link"):
        discovery.read(str(root / "link.md"), 1000, root=root)
    with pytest.raises(discovery.Unreadable, match="not a regular file"):
        discovery.read(str(root / "fifo.md"), 1000, root=root)
    with pytest.raises(FileNotFoundError):
        discovery.read(str(root / "gone.md"), 1000, root=root)
    with pytest.raises(FileNotFoundError):
        discovery.read(str(root / "ok.md" / "under-a-file.md"), 1000, root=root)


def test_read_opens_beneath_the_root_never_through_a_link_on_the_way(root, tmp_path):
    """The last component's O_NOFOLLOW is not enough: a directory on the way that is a link is refused too."""
    make(tmp_path, "outside/secret.md", content="secret\n")
    make(root, "docs/inner.md")
    (root / "linked").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(FileNotFoundError):
        discovery.read(str(root / "linked" / "secret.md"), 1000, root=root)
    for outside in (str(tmp_path / "outside" / "secret.md"), str(root / ".." / "outside" / "secret.md")):
        with pytest.raises((discovery.Unreadable, FileNotFoundError)):
            discovery.read(outside, 1000, root=root)
    assert discovery.read(str(root / "docs" / "inner.md"), 1000, root=root)[0] == b"text\n"


def test_the_project_root_is_where_reads_are_confined_unless_said(root, settings):
    make(root, "a.md")
    settings.PROJECT_ROOT = root
    assert discovery.read(str(root / "a.md"), 1000)[0] == b"text\n"
    with pytest.raises(discovery.Unreadable, match="not under"):
        discovery.read(str(root.parent / "a.md"), 1000)
