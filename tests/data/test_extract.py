"""Safe extraction refuses traversal, escaping links and special files, and leaves nothing behind."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from shiftlab.data.extract import UnsafeArchive, safe_extract


def make_tar(path, members, mode="w:gz"):
    """members: (name, kind, payload) with kind file|dir|sym|hard|fifo|chr."""
    with tarfile.open(path, mode) as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "sym": tarfile.SYMTYPE,
                "hard": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
                "chr": tarfile.CHRTYPE,
            }[kind]
            if kind in ("sym", "hard"):
                info.linkname = payload
            tar.addfile(info)
    return path


def test_good_tar_and_zip_extract(tmp_path):
    archive = make_tar(
        tmp_path / "ok.tar.gz",
        [
            ("imagenet-a", "dir", None),
            ("imagenet-a/README.txt", "file", b"hi"),
            ("imagenet-a/n1/x.jpg", "file", b"x"),
            ("imagenet-a/link", "sym", "n1/x.jpg"),
        ],
    )
    assert safe_extract(archive, tmp_path / "out") == ["imagenet-a"]
    assert (tmp_path / "out" / "imagenet-a" / "link").read_bytes() == b"x"
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as zf:
        zf.writestr("sketch/n1/a.JPEG", b"a")
    assert safe_extract(tmp_path / "ok.zip", tmp_path / "out2") == ["sketch"]


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("ok.txt", "file", b"1"), ("../evil.txt", "file", b"x")], "contains '..'"),
        ([("a/../../evil.txt", "file", b"x")], "contains '..'"),
        ([("/etc/evil.txt", "file", b"x")], "absolute path"),
        ([("a/link", "sym", "../../outside")], "escapes the target"),
        ([("link", "sym", "/etc/passwd")], "is absolute"),
        ([("hard", "hard", "../outside")], "escapes the target"),
        ([("pipe", "fifo", None)], "device file or fifo"),
        ([("dev", "chr", None)], "device file or fifo"),
        # a chain: `up` points at the root (allowed), `esc` goes one further through it
        ([("a", "dir", None), ("a/up", "sym", ".."), ("a/esc", "sym", "up/..")], "outside|escapes"),
    ],
)
def test_unsafe_tar_members_are_refused(tmp_path, members, message):
    archive = make_tar(tmp_path / "bad.tar", members, mode="w")
    with pytest.raises(UnsafeArchive, match=message):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_unsafe_zip_is_refused(tmp_path):
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        zf.writestr("fine.txt", b"1")
        zf.writestr("../evil.txt", b"x")
    with pytest.raises(UnsafeArchive, match="'..'"):
        safe_extract(tmp_path / "bad.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_not_an_archive(tmp_path):
    (tmp_path / "x.tar").write_bytes(b"not a tar at all" * 100)
    with pytest.raises(Exception, match="neither a tar nor a zip"):
        safe_extract(tmp_path / "x.tar", tmp_path / "out")
    assert not (tmp_path / "out").exists()
