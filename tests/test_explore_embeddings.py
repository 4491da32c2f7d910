"""scripts/explore_embeddings.py: partial slices as Resemblyzer cuts them, the fusion it measures, its cache."""
from __future__ import annotations

from scriptload import load_script

xe = load_script("explore_embeddings.py", "explore_embeddings")


def test_partial_slices_follow_resemblyzer():
    assert xe.partial_slices(16000) == [(0, 160)]                         # 1 s: one partial, padded
    assert xe.partial_slices(48000) == [(0, 160), (77, 237), (154, 314)]  # a partial every 77 frames
    # 2.5 s: a third partial would start at frame 154 and cover (40000 - 24640) / 25600 = 60 % < 75 %: dropped
    assert xe.partial_slices(40000) == [(0, 160), (77, 237)]
    # 2 s: the second partial covers (32000 - 12320) / 25600 = 77 %: kept
    assert xe.partial_slices(32000) == [(0, 160), (77, 237)]


def test_mean_of_two_is_the_shipped_fusion_on_ge2e_columns():
    from tonekit.models.estimators import FusedToneClassifier

    est = xe.MeanOfTwo({"kind": "logreg", "C": 1.0})
    assert isinstance(est, FusedToneClassifier)
    assert (est.kind, est.C, est.embedding_prefix) == ("logreg", 1.0, "ge2e_")


def test_per_file_cache_extracts_each_file_once(tmp_path):
    files = []
    for name in ("a.wav", "b.wav"):
        (tmp_path / name).write_bytes(b"x" * 10)
        files.append(str(tmp_path / name))
    calls = []

    def make_extractor():
        def extract(path):
            calls.append(path)
            return {"n": float(len(calls))}
        return extract

    cache = tmp_path / "cache.parquet"
    first = xe.ev.cached_per_file(cache, files, make_extractor, "test")
    assert first["n"].tolist() == [1.0, 2.0] and calls == files
    (tmp_path / "c.wav").write_bytes(b"y")
    again = xe.ev.cached_per_file(cache, files[::-1] + [str(tmp_path / "c.wav")], make_extractor, "test")
    assert again["n"].tolist() == [2.0, 1.0, 3.0]            # cached rows come back in the order asked
    assert calls == files + [str(tmp_path / "c.wav")]         # only the new file was extracted
    assert xe.ev.cached_per_file(cache, files, lambda: 1 / 0, "test").equals(first)   # no extractor needed
