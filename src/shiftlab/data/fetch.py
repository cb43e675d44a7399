"""Download and install a benchmark: resumable HTTP(S), verified, extracted safely, marked last.

Order of operations, chosen so an interrupted or failed fetch never looks complete:
1. each file downloads to `<dest>/.shiftlab-download/<file>.part`, resuming with a Range request
   after a cut connection or a rerun; a stalled server times out with a clear error;
2. size and checksums (sha256 and/or md5) are verified, then the `.part` is renamed;
3. archives extract into a temporary folder inside dest (path-traversal safe), whose top-level
   entries are then renamed into place;
4. `<dest>/.fetched.json` (url, sha256, size, time) is written last, atomically.
The workflow treats only the marker as "dataset present".
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from shiftlab.atomic import write_text
from shiftlab.data.extract import is_archive, safe_extract
from shiftlab.data.registry import Source, get_benchmark
from shiftlab.errors import UserError

MARKER = ".fetched.json"
DOWNLOAD_DIR = ".shiftlab-download"
_CHUNK = 1 << 20


class _Retryable(Exception):
    """A transient failure: the next attempt resumes from the bytes already on disk."""


def _checksums(path: Path) -> dict[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
            md5.update(chunk)
    return {"sha256": sha.hexdigest(), "md5": md5.hexdigest()}


def _attempt(url: str, part: Path, timeout: float, progress: Callable[[int], None] | None) -> None:
    """One request, appending to `part` (Range resume when it already holds bytes)."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "shiftlab-fetch"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            return  # we already hold the whole file; verification decides
        if exc.code >= 500 or exc.code in (408, 429):
            raise _Retryable(f"HTTP {exc.code} {exc.reason}") from None
        raise UserError(f"download of {url} failed: HTTP {exc.code} {exc.reason}") from None
    except TimeoutError:
        raise _Retryable(f"no response within {timeout:g} s") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _Retryable(f"no response within {timeout:g} s") from None
        raise _Retryable(f"cannot connect: {exc.reason}") from None
    with response:
        status = getattr(response, "status", 200)
        mode = "ab"
        if have and status != 206:
            mode, have = "wb", 0  # the server ignored Range: start over
        elif have and not (response.headers.get("Content-Range") or "").startswith(
            f"bytes {have}-"
        ):
            raise _Retryable(
                f"server answered Range {have}- with {response.headers.get('Content-Range')!r}"
            )
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        received = 0
        read = getattr(response, "read1", response.read)
        with open(part, mode) as out:
            while True:
                try:
                    # read1: return what has arrived, so a stall keeps the bytes received so far
                    chunk = read(_CHUNK)
                except TimeoutError:
                    raise _Retryable(f"stalled: no data for {timeout:g} s") from None
                except (http.client.IncompleteRead, ConnectionError, OSError) as exc:
                    out.flush()
                    raise _Retryable(f"connection cut ({type(exc).__name__})") from None
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                if progress:
                    progress(have + received)
        if expected is not None and received < expected:
            raise _Retryable(f"connection cut after {have + received} bytes")


def download(
    url: str,
    dest: str | Path,
    size: int | None = None,
    sha256: str | None = None,
    md5: str | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    backoff: float = 1.0,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Download `url` to `dest` (via `dest.part`), verified -> {url, size, sha256, md5}.

    Transient failures (cut connection, stall, 5xx) retry up to `retries` times, resuming;
    the `.part` file is kept after a final failure so a rerun resumes too.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():
        part.unlink(missing_ok=True)
        os.replace(dest, part)  # re-verify an earlier download through the same path
    if urllib.parse.urlparse(url).scheme not in ("http", "https", "file"):
        raise UserError(f"unsupported URL {url!r}: use http(s):// or file://")
    last = ""
    for attempt in range(retries + 1):
        if size is not None and part.exists() and part.stat().st_size == size:
            break  # complete from an earlier attempt
        try:
            _attempt(url, part, timeout, progress)
            last = ""
            break
        except _Retryable as exc:
            last = str(exc)
            if attempt < retries:
                time.sleep(backoff * (attempt + 1))
    if last:
        have = part.stat().st_size if part.exists() else 0
        raise UserError(
            f"download of {url} failed after {retries + 1} attempts: {last}; {have} bytes kept in "
            f"{part} — rerun to resume"
        )
    got = part.stat().st_size
    if size is not None and got != size:
        if got > size:
            part.unlink()
        raise UserError(
            f"download of {url} is {got} bytes, expected {size} (truncated or changed upstream); "
            f"nothing was installed" + (f", {part} kept to resume" if got < size else "")
        )
    sums = _checksums(part)
    for algo, want in (("sha256", sha256), ("md5", md5)):
        if want and sums[algo] != want.lower():
            part.unlink()
            raise UserError(
                f"{algo} mismatch for {url}: got {sums[algo]}, expected {want}; the file was "
                "deleted. If upstream changed, pass --sha256/--md5 with a checksum you trust"
            )
    os.replace(part, dest)
    return {"url": url, "filename": dest.name, "size": got, **sums}


def read_marker(dest: str | Path) -> dict[str, Any] | None:
    path = Path(dest) / MARKER
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _install(extracted: Path, dest: Path) -> list[str]:
    """Rename the top-level entries of a finished extraction into dest (replacing leftovers of
    an earlier, unmarked attempt)."""
    names = []
    for entry in sorted(extracted.iterdir()):
        final = dest / entry.name
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final)
        elif final.exists() or final.is_symlink():
            final.unlink()
        os.replace(entry, final)
        names.append(entry.name)
    extracted.rmdir()
    return names


def fetch_benchmark(
    kind: str,
    dest: str | Path,
    variant: str | None = None,
    url: str | None = None,
    sha256: str | None = None,
    md5: str | None = None,
    size: int | None = None,
    timeout: float = 60.0,
    retries: int = 3,
    keep_archives: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fetch a registered benchmark (or an explicit `url`) into `dest` -> the marker written."""
    dest = Path(dest)
    sources = _sources(kind, variant, url, sha256, md5, size)
    wanted = [{"url": s.url, "sha256": s.sha256, "md5": s.md5, "size": s.size} for s in sources]
    marker = read_marker(dest)
    if marker and marker.get("requested") == wanted:
        log(f"{kind}: already fetched into {dest} ({MARKER} present)")
        return marker
    dest.mkdir(parents=True, exist_ok=True)
    (dest / MARKER).unlink(missing_ok=True)  # a different request: never leave a stale marker
    downloads = dest / DOWNLOAD_DIR
    files, installed = [], []
    for source in sources:
        info, names = _fetch_source(source, dest, downloads, timeout, retries, keep_archives, log)
        files.append(info)
        installed += names
    if not keep_archives:
        shutil.rmtree(downloads, ignore_errors=True)
    from shiftlab.provenance import now

    record = {
        "benchmark": kind,
        "variant": variant or "",
        "url": files[0]["url"],
        "sha256": files[0]["sha256"],
        "size": files[0]["size"],
        "files": files,
        "installed": installed,
        "requested": wanted,
        "sources": [asdict(s) for s in sources],
        "time": now(),
    }
    write_text(dest / MARKER, json.dumps(record, indent=2) + "\n")
    return record


def _sources(
    kind: str,
    variant: str | None,
    url: str | None,
    sha256: str | None,
    md5: str | None,
    size: int | None,
) -> tuple[Source, ...]:
    """The files to fetch: an explicit `url`, else the registry's, with any checksum or
    size given on the command line in place of the published one (single files only)."""
    bench = get_benchmark(kind)
    if url:
        name = Path(urllib.parse.urlparse(url).path).name or "download"
        return (Source(url, name, size, sha256, md5),)
    sources = bench.sources_for(variant)
    if not sources:
        raise UserError(bench.manual or f"{kind} has no download source; use `source: local`")
    if sha256 or md5 or size:
        if len(sources) != 1:
            raise UserError("--sha256/--md5/--size apply to a single file: also pass --url")
        s = sources[0]
        sources = (
            Source(s.url, s.filename, size or s.size, sha256 or s.sha256, md5 or s.md5, s.extract),
        )
    return sources


def _fetch_source(
    source: Source,
    dest: Path,
    downloads: Path,
    timeout: float,
    retries: int,
    keep_archives: bool,
    log: Callable[[str], None],
) -> tuple[dict[str, Any], list[str]]:
    """Download and verify one file, then extract it into `dest` (or move it there when it
    is no archive) -> (its download info, the top-level names it installed)."""
    if not (source.sha256 or source.md5):
        log(
            f"warning: {source.filename} has no published checksum; its sha256 is recorded in {MARKER}"
        )
    log(f"downloading {source.url}")
    info = download(
        source.url,
        downloads / source.filename,
        source.size,
        source.sha256,
        source.md5,
        timeout,
        retries,
    )
    info["verified"] = bool(source.sha256 or source.md5)
    archive = downloads / source.filename
    if source.extract and is_archive(archive):
        tmp = dest / f".shiftlab-extract-{source.filename}"
        shutil.rmtree(tmp, ignore_errors=True)
        log(f"extracting {source.filename}")
        safe_extract(archive, tmp)
        installed = _install(tmp, dest)
        if not keep_archives:
            archive.unlink()
    else:
        os.replace(archive, dest / source.filename)
        installed = [source.filename]
    return info, installed
