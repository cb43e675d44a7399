"""Safe archive extraction (tar, tar.gz/bz2/xz, zip) into a fresh folder.

Every member is checked before it is written: absolute names, `..` components, links whose
target leaves the extraction folder, hard links to outside members, and device files or fifos
are refused with an error naming the member. Extraction goes into a new temporary folder that
the caller moves into place only after everything succeeded, so a refused or broken archive
never leaves a half dataset in place. Python's own `data` tar filter runs as a second line of
defence (it resolves links against the real file system).
"""

from __future__ import annotations

import posixpath
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

from shiftlab.errors import UserError


class UnsafeArchive(UserError):
    """An archive member would write outside the target or create a special file."""


def _check_name(archive: Path, name: str) -> str:
    """Normalised relative member name, or UnsafeArchive."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(
            f"{archive.name}: member {name!r} has an absolute path; refusing to extract"
        )
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        raise UnsafeArchive(f"{archive.name}: member {name!r} contains '..'; refusing to extract")
    clean = posixpath.normpath(name.replace("\\", "/"))
    return "" if clean == "." else clean


def _inside(path: str) -> bool:
    """Whether a normalised relative path stays within the extraction folder."""
    return not (path.startswith("/") or path == ".." or path.startswith("../"))


def _check_tar_member(archive: Path, member: tarfile.TarInfo) -> None:
    name = _check_name(archive, member.name)
    if member.isdev() or member.isfifo():
        raise UnsafeArchive(
            f"{archive.name}: member {member.name!r} is a device file or fifo; refusing to extract"
        )
    if member.issym():
        if member.linkname.startswith("/"):
            raise UnsafeArchive(
                f"{archive.name}: symlink {member.name!r} -> {member.linkname!r} is absolute"
            )
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), member.linkname))
        if not _inside(target):
            raise UnsafeArchive(
                f"{archive.name}: symlink {member.name!r} -> {member.linkname!r} escapes the target folder"
            )
    elif member.islnk():
        target = posixpath.normpath(member.linkname)
        if (
            member.linkname.startswith("/")
            or not _inside(target)
            or ".." in member.linkname.split("/")
        ):
            raise UnsafeArchive(
                f"{archive.name}: hard link {member.name!r} -> {member.linkname!r} escapes the target folder"
            )
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchive(
            f"{archive.name}: member {member.name!r} has an unsupported type; refusing to extract"
        )


def _extract_tar(archive: Path, target: Path) -> None:
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:  # streamed: multi-GB tars are read once
            _check_tar_member(archive, member)
            try:
                tar.extract(member, target, filter="data")
            except tarfile.FilterError as exc:
                raise UnsafeArchive(f"{archive.name}: {exc}; refusing to extract") from None


def _extract_zip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            _check_name(archive, info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchive(
                    f"{archive.name}: member {info.filename!r} is a symlink; refusing to extract"
                )
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no type recorded
                raise UnsafeArchive(
                    f"{archive.name}: member {info.filename!r} is a special file; refusing to extract"
                )
        for info in zf.infolist():
            zf.extract(info, target)


def is_archive(path: Path) -> bool:
    return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)


def safe_extract(archive: str | Path, target: str | Path) -> list[str]:
    """Extract `archive` into the new folder `target` -> its top-level entry names.

    On any error `target` is removed again, so callers never see partial content.
    """
    archive, target = Path(archive), Path(target)
    if target.exists():
        raise UserError(f"extraction folder {target} already exists")
    target.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, target)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, target)
        else:
            raise UserError(f"{archive} is neither a tar nor a zip archive")
        _check_links(archive, target)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise UserError(f"cannot extract {archive.name}: {exc}") from None
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return sorted(p.name for p in target.iterdir())


def _check_links(archive: Path, target: Path) -> None:
    """After extraction, every symlink must still resolve inside `target` (link chains)."""
    base = target.resolve()
    for path in target.rglob("*"):
        if path.is_symlink() and not path.resolve().is_relative_to(base):
            raise UnsafeArchive(
                f"{archive.name}: link {path.relative_to(target)} resolves outside the target folder"
            )
