"""Manifests and fingerprints: content-only, cached by size+mtime, fully re-verifiable."""

from __future__ import annotations

import hashlib
import json
import os

from shiftlab.cli import main
from shiftlab.data.fingerprint import build_manifest


def _reference(files: dict[str, bytes]) -> str:
    """The documented canonical form, computed independently."""
    lines = "".join(
        f"{p}\t{len(b)}\t{hashlib.sha256(b).hexdigest()}\n"
        for p, b in sorted(files.items(), key=lambda kv: kv[0].encode())
    )
    return hashlib.sha256(lines.encode()).hexdigest()


def _tree(root, files):
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def test_fingerprint_matches_reference_and_uses_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SHIFTLAB_CACHE_DIR", str(tmp_path / "cache"))
    files = {"b/x.JPEG": b"12345", "a.txt": b"", "b/Z.jpg": b"zz", "c/d/e.png": b"\x00" * 100}
    _tree(tmp_path / "ds", files)
    (tmp_path / "ds" / ".fetched.json").write_text('{"time": "now"}')  # bookkeeping: excluded
    first = build_manifest(tmp_path / "ds")
    assert first.fingerprint == _reference(files) and first.rehashed == 4
    again = build_manifest(tmp_path / "ds")
    assert again.fingerprint == first.fingerprint and again.rehashed == 0  # from the cache
    # the same content elsewhere has the same fingerprint
    _tree(tmp_path / "copy", files)
    assert build_manifest(tmp_path / "copy").fingerprint == first.fingerprint
    # a changed file is re-hashed (size changed)
    (tmp_path / "ds" / "b" / "x.JPEG").write_bytes(b"123456")
    changed = build_manifest(tmp_path / "ds")
    assert changed.rehashed == 1 and changed.fingerprint == _reference(
        {**files, "b/x.JPEG": b"123456"}
    )


def test_verify_catches_changes_that_keep_size_and_mtime(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SHIFTLAB_CACHE_DIR", str(tmp_path / "cache"))
    _tree(tmp_path / "ds", {"a.jpg": b"aaaa", "b.jpg": b"bbbb"})
    assert main(["datasets", "fingerprint", str(tmp_path / "ds")]) == 0
    path = tmp_path / "ds" / "a.jpg"
    st = path.stat()
    path.write_bytes(b"AAAA")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert build_manifest(tmp_path / "ds").fingerprint == _reference(
        {"a.jpg": b"aaaa", "b.jpg": b"bbbb"}
    )  # cheap check is fooled
    capsys.readouterr()
    assert main(["datasets", "fingerprint", str(tmp_path / "ds"), "--verify", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["changed_in_place"] == ["a.jpg"]
    assert result["fingerprint"] == _reference({"a.jpg": b"AAAA", "b.jpg": b"bbbb"})
