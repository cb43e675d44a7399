"""Class subsets: A/R from timm (digest-checked), O from shiftlab's data file, cue-conflict 16."""

from __future__ import annotations

from pathlib import Path

import timm

from shiftlab.data.subsets import (
    CUE_CONFLICT_CATEGORIES,
    CUE_CONFLICT_INDICES,
    cue_conflict_label_space_indices,
    cue_conflict_texture,
    subset_wnids,
)
from shiftlab.labels import imagenet1k_index, imagenet1k_wnids, label_space


def _timm_indices(kind: str) -> list[int]:
    path = Path(timm.__file__).parent / "data" / "_info" / f"{kind}_indices.txt"
    return [int(x) for x in path.read_text().split()]


def test_a_and_r_are_timm_indices_through_the_sorted_wnids():
    wnids = imagenet1k_wnids()
    for kind in ("imagenet_a", "imagenet_r"):
        subset = subset_wnids(kind)
        assert len(subset) == 200 and list(subset) == sorted(subset)
        assert [imagenet1k_index(w) for w in subset] == _timm_indices(kind)
        assert subset == tuple(wnids[i] for i in _timm_indices(kind))
    a = [imagenet1k_index(w) for w in subset_wnids("imagenet_a")]
    r = [imagenet1k_index(w) for w in subset_wnids("imagenet_r")]
    assert a[:5] == [6, 11, 13, 15, 17] and a[-3:] == [986, 987, 988]  # docs/benchmarks.md §2.6
    assert r[:5] == [1, 2, 4, 6, 8] and r[-3:] == [981, 983, 988]


def test_imagenet_o_list_matches_published_facts():
    o = subset_wnids("imagenet_o")
    assert len(o) == 200 and len(set(o)) == 200 and list(o) == sorted(o)
    idx = [imagenet1k_index(w) for w in o]
    assert idx[:8] == [1, 51, 70, 79, 89, 90, 107, 109]
    assert idx[-3:] == [987, 988, 996]
    a, r = set(subset_wnids("imagenet_a")), set(subset_wnids("imagenet_r"))
    assert len(a & set(o)) == 59
    assert len(set(o) & r) == 36
    assert len(a & r) == 86


def test_cue_conflict_categories():
    assert CUE_CONFLICT_CATEGORIES == tuple(sorted(CUE_CONFLICT_CATEGORIES))
    assert len(CUE_CONFLICT_CATEGORIES) == 16
    assert sum(len(v) for v in CUE_CONFLICT_INDICES.values()) == 207
    assert len(CUE_CONFLICT_INDICES["dog"]) == 109 and len(CUE_CONFLICT_INDICES["bird"]) == 49
    flat = [i for v in CUE_CONFLICT_INDICES.values() for i in v]
    assert len(set(flat)) == len(flat)
    # MiniNet's label space: hen (bird), golden retriever (dog) … turtle belongs to none.
    per_cat = cue_conflict_label_space_indices(label_space("mininet"))
    space = label_space("mininet")
    assert [space.wnids[i] for i in per_cat["bird"]] == ["n01514859"]
    assert per_cat["knife"] == ()
    assert sum(len(v) for v in per_cat.values()) == 9


def test_texture_is_last_dash_token_without_digits():
    assert cue_conflict_texture("airplane1-bicycle2.png") == "bicycle"
    assert cue_conflict_texture("bird/bird3-bird2.png") == "bird"
    assert cue_conflict_texture("truck10-elephant10.png") == "elephant"
