"""Atomic writes: the destination is either the old file or the complete new one."""

from __future__ import annotations

import pytest

from semiseg.atomic import atomic_path, write_text_atomic


def test_success_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "result.json"
    write_text_atomic(path, "old")
    write_text_atomic(path, "new")
    assert path.read_text() == "new"
    assert sorted(p.name for p in path.parent.iterdir()) == ["result.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "last.pt"
    path.write_text("finished checkpoint")
    with pytest.raises(RuntimeError), atomic_path(path, sync=True) as tmp:
        tmp.write_text("half writ")
        raise RuntimeError("killed mid-write")
    assert path.read_text() == "finished checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_the_temporary_ends_like_the_destination(tmp_path):
    # nibabel and PIL choose the format from the file name's ending
    with atomic_path(tmp_path / "case.nii.gz") as tmp:
        assert tmp.name.endswith(".nii.gz") and tmp.name.startswith(".")
        assert tmp.parent == tmp_path
        tmp.write_bytes(b"x")
    assert (tmp_path / "case.nii.gz").read_bytes() == b"x"
