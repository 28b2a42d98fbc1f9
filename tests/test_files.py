"""The project's one atomic writer and one generated-section rewriter (wmil_envs.files)."""

from __future__ import annotations

import os

import pytest

from wmil_envs.files import atomic_write_bytes, atomic_write_text, replace_section, write_section

BEGIN, END = "<!-- gen:begin -->", "<!-- gen:end -->"


def test_atomic_write_creates_directories_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "a" / "b" / "out.txt"
    atomic_write_text(path, "héllo\n")
    assert path.read_bytes() == "héllo\n".encode()
    atomic_write_text(path, "second\n")
    assert path.read_text(encoding="utf-8") == "second\n"
    assert os.listdir(path.parent) == ["out.txt"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path):
    path = tmp_path / "out.bin"
    atomic_write_bytes(path, lambda fh: fh.write(b"old"))

    def broken(fh):
        fh.write(b"half a fi")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write_bytes(path, broken)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_replace_section_keeps_everything_outside_the_markers():
    text = f"# Title\n\nbefore\n{BEGIN}\nold body\n{END}\nafter\n"
    new = replace_section(text, BEGIN, END, "new body")
    assert new == f"# Title\n\nbefore\n{BEGIN}\nnew body\n{END}\nafter\n"
    assert replace_section(new, BEGIN, END, "new body\n") == new  # idempotent


def test_replace_section_appends_a_missing_section():
    assert replace_section("", BEGIN, END, "body") == f"{BEGIN}\nbody\n{END}\n"
    new = replace_section("# Title\nkeep me\n\n\n", BEGIN, END, "body")
    assert new == f"# Title\nkeep me\n\n{BEGIN}\nbody\n{END}\n"


@pytest.mark.parametrize(
    "text",
    [f"{BEGIN}\nonly the start\n", f"only the end\n{END}\n", f"{END}\nreversed\n{BEGIN}\n"],
)
def test_replace_section_refuses_broken_markers(text):
    with pytest.raises(ValueError, match="must both stand in the file"):
        replace_section(text, BEGIN, END, "body")


def test_write_section_writes_only_when_the_section_changes(tmp_path):
    path = tmp_path / "doc.md"
    assert write_section(path, BEGIN, END, "one", default="# Doc\n")
    assert path.read_text() == f"# Doc\n\n{BEGIN}\none\n{END}\n"
    mtime = path.stat().st_mtime_ns
    assert not write_section(path, BEGIN, END, "one")
    assert path.stat().st_mtime_ns == mtime
    assert write_section(path, BEGIN, END, "two")
    assert path.read_text() == f"# Doc\n\n{BEGIN}\ntwo\n{END}\n"
