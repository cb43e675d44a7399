"""`shiftlab fetch` against a local HTTP server with scripted faults.

Every failure must give a clear error and leave no dataset that looks complete: the marker
`.fetched.json` exists only after a verified download and a safe extraction.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shiftlab.cli import main
from shiftlab.data.fetch import download, fetch_benchmark, read_marker
from shiftlab.errors import UserError

WNID = "n01498041"  # an ImageNet-A class


def tar_bytes(members: list[tuple[str, str, bytes | str]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                tar.addfile(info)
            else:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


_RNG = random.Random(0)  # incompressible payloads keep the archive a few hundred KB
GOOD = tar_bytes(
    [
        ("imagenet-a/README.txt", "file", b"readme"),
        *[(f"imagenet-a/{WNID}/{i}.jpg", "file", _RNG.randbytes(5000)) for i in range(40)],
    ]
)


class Server:
    """Routes: path -> (behaviour, body). Records each request's Range header."""

    def __init__(self):
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.hits: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                behaviour, body = outer.routes.get(self.path, ("404", b""))
                outer.requests.append((self.path, self.headers.get("Range")))
                n = outer.hits[self.path] = outer.hits.get(self.path, 0) + 1
                if behaviour in ("404", "500"):
                    self.send_error(int(behaviour))
                    return
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if match and behaviour != "norange":
                    start = int(match.group(1))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                payload = body[start:]
                if behaviour == "truncated":  # a complete response that is simply too short
                    payload = payload[: len(payload) // 2]
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if behaviour == "stall":
                    self.wfile.write(payload[:100])
                    self.wfile.flush()
                    time.sleep(3)
                    return
                if behaviour == "cut" and n == 1:  # first attempt dies half-way
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"


@pytest.fixture
def server():
    srv = Server()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(server, path, dest, data=GOOD, **kw):
    args = {
        "url": server.url(path),
        "sha256": sha(data),
        "size": len(data),
        "timeout": 1.0,
        "retries": 2,
        "log": lambda _: None,
    }
    args.update(kw)
    return fetch_benchmark("imagenet_a", dest, **args)


def assert_not_complete(dest):
    assert read_marker(dest) is None
    assert not (dest / "imagenet-a").exists()


def test_success_with_checksum_and_marker(server, tmp_path, capsys):
    server.routes["/imagenet-a.tar.gz"] = ("ok", GOOD)
    dest = tmp_path / "data" / "a"
    rc = main(
        [
            "fetch",
            "imagenet_a",
            "--dest",
            str(dest),
            "--url",
            server.url("/imagenet-a.tar.gz"),
            "--sha256",
            sha(GOOD),
            "--size",
            str(len(GOOD)),
        ]
    )
    assert rc == 0
    assert len(list((dest / "imagenet-a" / WNID).iterdir())) == 40
    marker = read_marker(dest)
    assert {k: marker[k] for k in ("url", "sha256", "size")} == {
        "url": server.url("/imagenet-a.tar.gz"),
        "sha256": sha(GOOD),
        "size": len(GOOD),
    }
    assert "time" in marker and marker["files"][0]["verified"]
    assert not (dest / ".shiftlab-download").exists()
    # the fetched tree is a valid benchmark root, and a second fetch is a no-op
    assert (
        main(["datasets", "check", "imagenet_a", str(dest), "--expect-count", "40", "--no-decode"])
        == 1
    )  # 199 classes missing
    capsys.readouterr()
    fetch(server, "/imagenet-a.tar.gz", dest)
    assert server.hits["/imagenet-a.tar.gz"] == 1


def test_resume_after_a_cut_connection(server, tmp_path):
    server.routes["/a.tar.gz"] = ("cut", GOOD)
    dest = tmp_path / "a"
    fetch(server, "/a.tar.gz", dest)
    assert read_marker(dest) is not None
    ranges = [r for p, r in server.requests if p == "/a.tar.gz"]
    assert ranges[0] is None and ranges[1] == f"bytes={len(GOOD) // 2}-"  # resumed, not restarted


def test_resume_from_a_part_file_left_by_an_earlier_run(server, tmp_path):
    server.routes["/a.tar"] = ("ok", GOOD)
    part = tmp_path / "x" / "a.tar.part"
    part.parent.mkdir()
    part.write_bytes(GOOD[:1000])
    info = download(
        server.url("/a.tar"), tmp_path / "x" / "a.tar", len(GOOD), sha(GOOD), timeout=1, retries=0
    )
    assert info["sha256"] == sha(GOOD) and server.requests == [("/a.tar", "bytes=1000-")]
    assert not part.exists()


def test_truncated_body_is_an_error(server, tmp_path):
    server.routes["/a.tar.gz"] = ("truncated", GOOD)
    dest = tmp_path / "a"
    with pytest.raises(UserError, match=rf"is {len(GOOD) // 2} bytes, expected {len(GOOD)}"):
        fetch(server, "/a.tar.gz", dest, retries=0)
    assert_not_complete(dest)


def test_wrong_checksum_deletes_the_file(server, tmp_path):
    server.routes["/a.tar.gz"] = ("ok", GOOD)
    dest = tmp_path / "a"
    with pytest.raises(UserError, match="sha256 mismatch"):
        fetch(server, "/a.tar.gz", dest, sha256="0" * 64)
    assert_not_complete(dest)
    assert not list(dest.rglob("*.part"))
    with pytest.raises(UserError, match="md5 mismatch"):
        fetch(server, "/a.tar.gz", dest, sha256=None, md5="0" * 32)
    assert_not_complete(dest)


@pytest.mark.parametrize(("code", "retries"), [("404", 2), ("500", 1)])
def test_http_errors(server, tmp_path, code, retries):
    server.routes["/a.tar.gz"] = (code, b"")
    dest = tmp_path / "a"
    with pytest.raises(UserError, match=f"HTTP {code}"):
        fetch(server, "/a.tar.gz", dest, retries=retries, size=None)
    assert_not_complete(dest)
    # 404 is final; 500 is retried
    assert server.hits["/a.tar.gz"] == (1 if code == "404" else retries + 1)


def test_stalled_server_times_out(server, tmp_path):
    server.routes["/a.tar.gz"] = ("stall", GOOD)
    dest = tmp_path / "a"
    started = time.monotonic()
    with pytest.raises(UserError, match=r"stalled: no data for 0.5 s.*rerun to resume"):
        fetch(server, "/a.tar.gz", dest, timeout=0.5, retries=0)
    assert time.monotonic() - started < 3
    assert_not_complete(dest)
    assert (
        dest / ".shiftlab-download" / "a.tar.gz.part"
    ).stat().st_size == 100  # kept for resuming


@pytest.mark.parametrize(
    "members",
    [
        [("imagenet-a/ok.jpg", "file", b"x"), ("../evil.txt", "file", b"x")],
        [("imagenet-a/ok.jpg", "file", b"x"), ("imagenet-a/link", "sym", "../../../etc/passwd")],
    ],
    ids=["dotdot", "escaping-symlink"],
)
def test_unsafe_archives_are_refused(server, tmp_path, members):
    data = tar_bytes(members)
    server.routes["/a.tar.gz"] = ("ok", data)
    dest = tmp_path / "a"
    with pytest.raises(UserError, match="refusing to extract|escapes the target"):
        fetch(server, "/a.tar.gz", dest, data=data)
    assert_not_complete(dest)
    assert not (tmp_path / "evil.txt").exists()
    assert [p.name for p in dest.iterdir()] == [".shiftlab-download"]  # only the verified archive


def test_manual_only_benchmarks_explain_what_to_do(tmp_path, capsys):
    for kind, words in (
        ("imagenet_val", "image-net.org"),
        ("imagenet_sketch", "ImageNet-Sketch.zip"),
        ("imagenet_train", "ILSVRC2012_img_train.tar"),
    ):
        assert main(["fetch", kind, "--dest", str(tmp_path / kind)]) == 2
        assert words in capsys.readouterr().err
