"""The one containment check and the name rules (SECURITY.md section A)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aml_jupyter.errors import InvalidPath
from aml_jupyter.paths import atomic_write_bytes, check_relative_name, is_inside, safe_join

BAD_NAMES = [
    "../../etc/passwd",
    "../x",
    "./../x",
    "a/../../x",
    "a/./b",
    "/etc/passwd",
    "//etc/passwd",
    "///etc/passwd",
    "C:\\Windows\\win.ini",
    "C:x",
    "\\..\\..\\x",
    "..\\\\x",
    "%2e%2e%2fx",
    "%2E%2E%2F",
    "..%2f",
    "..%252f",
    "%252e%252e%252f",
    "x%00.ipynb",
    "x\x00y",
    "x\n",
    "\x17",
    "..;/x",
    "x;/../y",
    "x#/../../y",
    "x?/../../y",
    "file:///etc/",
    "file://localhost/etc/passwd",
    "//proc/self/root",
    "dbfs:/",
    "http:///#/../../etc/",
    "",
    ".",
    "..",
    "/",
    ".hidden",
    "a/.hidden/b",
    "CON",
    "NUL.txt",
    "aux",
    "x ",
    "x.",
    " x",
    "a" * 256,
    "a/" * 600,
    "\uff0e\uff0e\uff0fx",
    "x\u202e",
    "\ud800",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidPath):
        check_relative_name(name)


@pytest.mark.parametrize("name", ["model.pkl", "plots/loss.png", "a b/c-d_e.txt", "données/é.csv", "v1.2/x"])
def test_good_names_pass(name: str) -> None:
    assert check_relative_name(name) == name


def test_names_are_nfc_normalised() -> None:
    assert check_relative_name("e\u0301.txt") == "\u00e9.txt"


def test_non_string_names_are_refused() -> None:
    with pytest.raises(InvalidPath):
        check_relative_name(b"x")  # type: ignore[arg-type]


def test_sibling_prefix_is_not_inside(tmp_path: Path) -> None:
    root = tmp_path / "store"
    (tmp_path / "store2").mkdir()
    root.mkdir()
    assert not is_inside(root, tmp_path / "store2" / "secret")
    assert not is_inside(root, root / ".." / "storeX" / "secret")
    assert is_inside(root, root / "a" / "b")
    assert is_inside("/", "/etc/passwd")


def test_safe_join_refuses_a_symlink_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    os.symlink("/etc", root / "link")
    with pytest.raises(InvalidPath, match="leaves"):
        safe_join(root, "link/passwd")
    loop = root / "loop"
    os.symlink(loop, loop)
    # A loop does not leave the root; opening it fails with ELOOP, never outside.
    assert is_inside(root, safe_join(root, "loop/x"))
    assert safe_join(root, "ok/file.txt") == root / "ok" / "file.txt"


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]
