"""`shiftlab fetch-weights` on a login node against a local HTTP server (a Hugging Face
endpoint and a plain file mirror on 127.0.0.1), then the compute node's offline read."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import yaml

TAG = "resnet18.a1_in1k"


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `files[path]`; hub paths get the headers huggingface_hub reads (commit, etag)."""

    files: dict[str, bytes] = {}

    def _head(self) -> bytes | None:
        data = self.files.get(self.path)
        if data is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
        self.send_header("X-Repo-Commit", "0" * 40)
        self.end_headers()
        return data

    def do_HEAD(self) -> None:  # noqa: N802 - http.server's name
        self._head()

    def do_GET(self) -> None:  # noqa: N802
        data = self._head()
        if data is not None:
            self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def server(tmp_path) -> Iterator[tuple[str, dict, dict[str, torch.Tensor]]]:
    from safetensors.torch import save_file

    from shiftlab.models import create_model

    torch.manual_seed(4)
    state = create_model("resnet18", 1000).state_dict()
    save_file(state, tmp_path / "w.safetensors")
    _Handler.files = {
        f"/timm/{TAG}/resolve/main/model.safetensors": (tmp_path / "w.safetensors").read_bytes(),
        "/resnet18-f37072fd.pth": b"not the published file",
    }
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf"), TORCH_HOME=str(tmp_path / "torch"),
               HF_HUB_OFFLINE="1")  # fmt: skip
    try:
        yield f"http://127.0.0.1:{srv.server_port}", env, state
    finally:
        srv.shutdown()


def _config(tmp_path: Path, model: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"runs": {"zoo": {"model": model, "weights": "imagenet"}}}))
    return path


def _shiftlab(env: dict, *args: str) -> subprocess.CompletedProcess:
    cli = "import sys; from shiftlab.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", cli, *args], env=env, text=True,
                          capture_output=True, timeout=300)  # fmt: skip


COMPUTE = """
import json, sys, torch
from shiftlab.models import create_model
model = create_model(sys.argv[1], 1000, "imagenet")
print(json.dumps({k: float(v.double().sum()) for k, v in model.state_dict().items()
                  if v.is_floating_point()}))
"""


def test_fetch_on_login_node_then_compute_node_reads_offline(server, tmp_path) -> None:
    url, env, state = server
    before = subprocess.run([sys.executable, "-c", COMPUTE, TAG], env=env, text=True,
                            capture_output=True, timeout=300)  # fmt: skip
    assert before.returncode != 0
    assert f"pretrained weights for '{TAG}' are not in the local cache" in before.stderr
    assert "shiftlab fetch-weights --config" in before.stderr
    got = _shiftlab(env, "fetch-weights", "--config", str(_config(tmp_path, TAG)), "--mirror", url)
    assert got.returncode == 0, got.stderr  # HF_HUB_OFFLINE=1 in the environment, still fetched
    assert f"zoo: {TAG} fetched into" in got.stdout
    after = subprocess.run([sys.executable, "-c", COMPUTE, TAG], env=env, text=True,
                           capture_output=True, timeout=300)  # fmt: skip
    assert after.returncode == 0, after.stderr
    sums = json.loads(after.stdout)
    for key, value in state.items():
        if value.is_floating_point():
            assert sums[key] == pytest.approx(float(value.double().sum()), abs=1e-6), key
    again = _shiftlab(
        env, "fetch-weights", "--config", str(_config(tmp_path, TAG)), "--mirror", url
    )
    assert f"zoo: {TAG} already in" in again.stdout


def test_a_file_that_fails_its_checksum_is_not_installed(server, tmp_path) -> None:
    url, env, _ = server
    config = _config(tmp_path, "tv:resnet18.IMAGENET1K_V1")
    got = _shiftlab(env, "fetch-weights", "--config", str(config), "--mirror", url)
    assert got.returncode != 0 and "does not start with f37072fd" in got.stderr
    assert not list((tmp_path / "torch").rglob("resnet18-f37072fd.pth"))
