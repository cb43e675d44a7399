"""MiniNet: a seeded, tiny stand-in for ImageNet and its distribution-shift benchmarks.

Ten real ImageNet-1k classes (`shiftlab.labels.MININET_WNIDS`), each with its own *shape*
and its own *texture*, rendered on varied backgrounds with random placement, scale,
rotation and colour. Every benchmark is written in its official on-disk layout
(docs/benchmarks.md §2), so the demo study exercises the same readers, rules and metrics as a
real ImageNet study. Each image is a pure function of (seed, benchmark, class, k): the
bytes do not depend on generation order, and a different seed changes every image.

One module per thing it builds:

- `spec`: the classes, benchmark class subsets and generator parameters;
- `draw`: drawing primitives (shapes, textures, backgrounds, compositing);
- `photos`: photo-like images (train, val, V2, A, O);
- `renditions`: sketches, ImageNet-R renditions and cue-conflict stimuli;
- `items`: the plan, i.e. every file of the world with its own seed;
- `write`: encoding and the atomic write of the world and its `MANIFEST.json`.
"""
