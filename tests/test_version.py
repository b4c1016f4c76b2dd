"""The provenance written into run folders and checkpoints."""

from __future__ import annotations

import subprocess

import pytest

from semiseg import version


@pytest.fixture(autouse=True)
def _fresh_cache():
    version.git_hash.cache_clear()
    yield
    version.git_hash.cache_clear()


def test_git_hash_is_this_checkouts_commit(monkeypatch) -> None:
    monkeypatch.delenv("SEMISEG_GIT_COMMIT", raising=False)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()
    if not head:
        pytest.skip("not run from a git checkout")
    assert version.git_hash() == head


def test_git_hash_can_be_named_where_the_tree_travelled_without_git(monkeypatch) -> None:
    monkeypatch.setenv("SEMISEG_GIT_COMMIT", "abc1234")
    assert version.provenance()["git"] == "abc1234"
