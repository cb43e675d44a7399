"""Materialization (``shiftlab corrupt``) against its floor, decode + JPEG encode.

The floor of writing one corrupted file is decoding the clean image (once per image,
shared by all its cells) plus encoding the output JPEG (quality 85). This script times
the real ``materialize`` on the cheap corruptions (all 5 severities) over a generated
folder of 224-px JPEGs and the bare decode + encode of the same files, single-threaded,
and prints the ratio per written file. Target: within 3x of the floor.

    .venv/bin/python benchmarks/materialize.py [--images 100] [--names brightness,...]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported
os.environ.setdefault("TQDM_DISABLE", "1")

import argparse  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

CHEAP = "brightness,contrast,saturate,pixelate,jpeg_compression,frost,gaussian_blur"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=100, help="clean images (10 classes)")
    p.add_argument("--names", default=CHEAP)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()

    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    from shiftlab.corrupt.imageio import load_rgb
    from shiftlab.corrupt.materialize import Job, encode_image, materialize, parse_settings
    from shiftlab.data.index import build_index, write_index
    from shiftlab.data.mininet import MiniNetParams, generate

    names = [n.strip() for n in args.names.split(",") if n.strip()]
    with tempfile.TemporaryDirectory(prefix="shiftlab-mat-") as tmp:
        work = Path(tmp)
        per_class = max(1, args.images // 10)
        generate(
            work / "world",
            MiniNetParams(
                seed=0,
                image_size=224,
                train_per_class=1,
                val_per_class=per_class,
                shifted_per_class=1,
            ),
        )
        frame, meta = build_index("imagenet_val", work / "world/imagenet/val", "mininet", "val")
        index = write_index(frame, meta, work / "val.parquet")
        files = [Path(meta["root"]) / s for s in frame["sample"]]
        settings = parse_settings({"params": "imagenet", "names": names})
        cells = len(names) * 5

        def floor() -> None:
            for f in files:
                pixels = load_rgb(f).pixels
                for _ in range(cells):
                    encode_image(pixels, "jpeg", 85)

        def run() -> None:
            out = work / "out"
            shutil.rmtree(out, ignore_errors=True)
            materialize(Job(index, "c", out, 0, settings), progress=False)

        best_floor = best_run = float("inf")
        for _ in range(args.repeats):
            t = time.perf_counter()
            floor()
            best_floor = min(best_floor, time.perf_counter() - t)
            t = time.perf_counter()
            run()
            best_run = min(best_run, time.perf_counter() - t)
        written = len(files) * cells
        print(
            f"{len(files)} clean 224-px JPEGs x {cells} cells ({', '.join(names)}) = {written} files"
        )
        print(f"  decode once + encode each (floor): {best_floor / written * 1e3:.3f} ms per file")
        print(f"  shiftlab materialize:              {best_run / written * 1e3:.3f} ms per file")
        ratio = best_run / best_floor
        print(f"  ratio {ratio:.2f}x (target <= 3x: {'ok' if ratio <= 3 else 'ABOVE TARGET'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
