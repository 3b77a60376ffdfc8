"""DATE metric: known-answer orderings on MECAT references, invariances, edge cases."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from acav_assets.evaluation import date_metric as dm  # noqa: E402
from acav_assets_tests.reference_data import MECAT_CAPTIONS

MECAT = MECAT_CAPTIONS


@pytest.fixture(scope="module")
def encoder() -> dm.TextEncoder:
    try:
        return dm.packaged_encoder(batch_size=64)
    except RuntimeError as exc:
        pytest.skip(str(exc))


def load_refs(domains: tuple[str, ...], facet: str, per_domain: int) -> list[list[str]]:
    out: list[list[str]] = []
    for domain in domains:
        path = MECAT / f"{domain}.jsonl"
        if not path.exists():
            pytest.skip(f"MECAT reference file {path} missing")
        with path.open() as fh:
            for k, line in enumerate(fh):
                if k >= per_domain:
                    break
                record = next(iter(json.loads(line).values()))
                out.append(list(record[facet]))
    return out


@pytest.fixture(scope="module")
def long_refs() -> list[list[str]]:
    if not MECAT.is_dir():
        pytest.skip("MECAT references not available")
    return load_refs(("00A", "0M0"), "long", 150)


def test_known_answers_ordering(encoder, long_refs):
    refs = long_refs
    n = len(refs)
    rng = np.random.default_rng(0)
    matched = [r[0] for r in refs]
    perm = rng.permutation(n)
    shuffled = [matched[i] for i in perm]
    generic = ["An audio recording with some sounds."] * n
    good = dm.date_group_score(matched, refs, "long", encoder)
    bad = dm.date_group_score(shuffled, refs, "long", encoder)
    gen = dm.date_group_score(generic, refs, "long", encoder)
    for name, r in (("matched", good), ("shuffled", bad), ("generic", gen)):
        print(f"[DATE long 00A+0M0 n={n}] {name}: sim={r['similarity_mean']:.4f} "
              f"dis={r['discrimination_mean']:.4f} date={r['date_mean']:.4f}")
    assert good["date_mean"] > bad["date_mean"] + 0.3
    assert good["similarity_mean"] > bad["similarity_mean"] + 0.1
    assert good["discrimination_mean"] > bad["discrimination_mean"] + 0.2
    assert good["date_mean"] > gen["date_mean"] + 0.3
    # one caption for every clip: all rows of M are equal, so it cannot single out its own clip
    assert gen["discrimination_mean"] < good["discrimination_mean"] - 0.2


def test_batch_size_and_order_invariance(encoder, long_refs):
    refs = long_refs[:40] + long_refs[-40:]
    preds = [r[1] for r in refs]
    old = encoder.batch_size
    try:
        encoder.batch_size = 64
        a = dm.date_group_score(preds, refs, "long", encoder)
        encoder.batch_size = 1
        b = dm.date_group_score(preds, refs, "long", encoder)
    finally:
        encoder.batch_size = old
    np.testing.assert_allclose(a["similarity"], b["similarity"], atol=1e-5)
    np.testing.assert_allclose(a["date"], b["date"], atol=1e-5)
    perm = np.random.default_rng(1).permutation(len(refs))
    c = dm.date_group_score([preds[i] for i in perm], [refs[i] for i in perm], "long", encoder)
    np.testing.assert_allclose(c["similarity"], a["similarity"][perm], atol=1e-5)
    np.testing.assert_allclose(c["date"], a["date"][perm], atol=1e-5)
    assert c["date_mean"] == pytest.approx(a["date_mean"], abs=1e-6)


def test_row_block_does_not_matter(encoder, long_refs):
    refs = long_refs[:50]
    preds = [r[2] for r in refs]
    a = dm.date_group_score(preds, refs, "long", encoder, row_block=1024)
    b = dm.date_group_score(preds, refs, "long", encoder, row_block=7)
    # Blocks change the float32 summation order: results agree to float32 precision, not bit for bit.
    np.testing.assert_allclose(a["discrimination"], b["discrimination"], atol=1e-5)
    np.testing.assert_allclose(a["date"], b["date"], atol=1e-5)


def test_single_clip_group(encoder):
    r = dm.date_group_score(["a dog barks"], [["a dog barking", "dog barks", "barking"]], "sound", encoder)
    assert r["n"] == 1 and r["similarity"][0] > 0.5
    assert r["discrimination"][0] == 0.0 and r["date"][0] == 0.0


def test_empty_prediction_and_last_of_list(encoder):
    refs = [["a dog barks", "dog barking", "barking dog"], ["piano music", "a song", "a melody"]]
    r = dm.date_group_score(["", ["ignored", "piano music plays"]], refs, "music", encoder)
    assert np.isfinite(r["similarity"]).all()
    assert r["similarity"][1] > r["similarity"][0]
    direct = dm.date_group_score(["", "piano music plays"], refs, "music", encoder)
    np.testing.assert_allclose(r["date"], direct["date"])


def test_fense_mode_is_mean_similarity(encoder):
    refs = [["a dog barks", "dog barking", "barking dog"], ["piano music", "a song", "a melody"],
            ["rain falls", "heavy rain", "rainstorm"]]
    preds = ["dog barking", "piano song", "rain"]
    r = dm.date_group_score(preds, refs, "long", encoder, fense_mode=True)
    assert r["date_mean"] == pytest.approx(r["similarity_mean"])
    p = dm.embed_corpus(preds, encoder, weighted=False)
    q = dm.embed_corpus([s for rr in refs for s in rr], encoder, weighted=False).reshape(3, 3, -1)
    expect = np.einsum("id,ikd->ik", p, q).mean(axis=1)
    np.testing.assert_allclose(r["similarity"], expect, atol=1e-5)
    assert np.isnan(r["discrimination"]).all()


def test_penalty_scales_similarity(encoder):
    refs = [["a dog barks", "dog barking", "barking dog"], ["piano music", "a song", "a melody"]]
    preds = ["dog barking", "piano song"]
    a = dm.date_group_score(preds, refs, "long", encoder)
    b = dm.date_group_score(preds, refs, "long", encoder, penalty=np.array([0.1, 1.0]))
    assert b["similarity"][0] == pytest.approx(0.1 * a["similarity"][0], rel=1e-5)
    assert b["similarity"][1] == pytest.approx(a["similarity"][1], rel=1e-6)


def test_tfidf_weights_hand_example():
    # orthogonal static vectors for ids 5, 6, 7 -> cos² is the identity
    emb = np.zeros((200, 3), np.float32)
    emb[5, 0] = emb[6, 1] = emb[7, 2] = 1.0
    corpus = [[101, 5, 5, 6, 102], [101, 5, 7, 102]]
    w = dm.tfidf_weights(corpus, emb)
    # df(5)=2, df(6)=1, df(7)=1; idf=ln(3/(df+1))+1
    idf5, idf1 = np.log(3 / 3) + 1, np.log(3 / 2) + 1
    raw0 = np.array([2 * idf5, 2 * idf5, 1 * idf1])  # tf(5)=2 (two copies), tf(6)=1
    raw1 = np.array([idf5, idf1])
    exp0, exp1 = raw0 / raw0.mean(), raw1 / raw1.mean()
    np.testing.assert_allclose(w[0][1:4], exp0, rtol=1e-6)
    np.testing.assert_allclose(w[1][1:3], exp1, rtol=1e-6)
    assert w[0][0] == pytest.approx(exp0.max()) and w[0][4] == pytest.approx(exp0.min())
    assert w[1][0] == pytest.approx(exp1.max()) and w[1][3] == pytest.approx(exp1.min())
    for ws in w:
        assert ws[1:-1].mean() == pytest.approx(1.0)
    # a sentence with only special tokens keeps unit weights
    assert dm.tfidf_weights([[101, 102]], emb)[0].tolist() == [1.0, 1.0]


def test_caption_score_and_groups():
    assert set(dm.GROUPS) == {"content_long", "content_short", "pure_speech", "pure_music", "pure_sound",
                              "mixed_speech", "mixed_music", "mixed_sound", "environment"}
    assert dm.GROUPS["pure_music"].domains == ("0M0",) and dm.GROUPS["mixed_sound"].facet == "sound"
    assert len(dm.GROUPS["content_long"].domains) == 8
    assert dm.caption_score({g: 1.0 for g in dm.GROUPS}) == pytest.approx(1.0)
    only_env = {g: 0.0 for g in dm.GROUPS} | {"environment": 0.5}
    assert dm.caption_score(only_env) == pytest.approx(0.1)
    assert dm.delta_for_facet("music") == 0.1566 and dm.delta_for_facet("other") == 0.2
