"""scripts/select_embedding_c.py: the nested leave-one-corpus-out choice of the embedding estimators' C."""
from __future__ import annotations

import pandas as pd
import pytest
from scriptload import load_script

sc = load_script("select_embedding_c.py", "tonekit_select_embedding_c")

CORPORA = ["a", "b", "c"]


def test_jobs_are_the_outer_and_inner_fits():
    todo = sc.jobs(["anger"], [0.001, 0.01], CORPORA)
    outer = [j for j in todo if len(j[2]) == 1]
    inner = [j for j in todo if len(j[2]) == 2]
    assert len(outer) == 2 * 3 and len(inner) == 2 * 3 * 2
    assert all(test == left[0] for _, test, left, _ in outer)
    assert all(test == left[1] and left[0] != test for _, test, left, _ in inner)


def _rows(auc):
    """Rows as the script makes them, with AUC ``auc(test, left_out, C)`` on both lines."""
    rows = []
    for t, test, left, C in sc.jobs(["anger"], [0.001, 0.01], CORPORA):
        for cond in ("wideband", "telephone"):
            rows.append({"target": t, "C": C, "test": test, "left_out": ",".join(sorted(left)), "condition": cond,
                         "auc": auc(test, left, C), "uar": 0.5, "ece": 0.1, "ece_balanced": 0.1})
    return pd.DataFrame(rows)


def test_nested_pick_uses_only_the_other_corpora():
    # C=0.001 is better on every inner row except when corpus "c" is the one held out, where the other
    # corpora favour 0.01; the outer rows (the held-out corpus itself) always favour 0.001 and must not count
    def auc(test, left, C):
        if len(left) == 1:
            return 0.9 if C == 0.001 else 0.6
        held_out = next(c for c in left if c != test)
        better = 0.01 if held_out == "c" else 0.001
        return 0.8 if C == better else 0.7

    rows = _rows(auc)
    picks = sc.nested_picks(rows)
    assert picks.to_dict() == {("anger", "a"): 0.001, ("anger", "b"): 0.001, ("anger", "c"): 0.01}
    est = sc.nested_estimate(rows, picks)
    # a and b are scored with 0.001 (outer AUC 0.9), c with 0.01 (0.6): mean 0.8 on each line
    assert est.set_index("condition").auc.to_dict() == pytest.approx({"telephone": 0.8, "wideband": 0.8})


def test_nested_pick_breaks_ties_toward_the_smaller_C():
    rows = _rows(lambda test, left, C: 0.75)
    assert set(sc.nested_picks(rows)) == {0.001}


def test_candidates_are_a_C_or_a_C_with_corpus_offsets():
    assert sc.candidate(0.001) == {"embedding_C": 0.001}
    assert sc.candidate("0.001+offsets") == {"embedding_C": 0.001, "domain_offsets": True}
    assert sc.candidate("0.001+pitch") == {"embedding_C": 0.001}
    assert sc.training_conditions(0.001) == ("wideband", "telephone")
    assert sc.training_conditions("0.001+pitch") == ("wideband", "telephone", "pitch-wideband", "pitch-telephone")
    assert sc.candidate("0.001+crop") == {"embedding_C": 0.001}
    assert sc.training_conditions("0.001+crop") == ("wideband", "telephone", "crop-wideband", "crop-telephone")
    with pytest.raises(ValueError, match="unknown candidate '0.001\\+bagging'"):
        sc.candidate("0.001+bagging")


def test_nested_pick_between_labelled_candidates():
    # the offsets (made from the rows of C = 0.01) win the inner rows only when "a" is held out
    def auc(test, left, C):
        held_out = next((c for c in left if c != test), test)
        return 0.8 if (C == 0.01) == (held_out == "a") else 0.7

    rows = _rows(auc)
    rows["C"] = rows.C.map({0.001: "0.001", 0.01: "0.001+offsets"})
    picks = sc.nested_picks(rows)
    assert picks.to_dict() == {("anger", "a"): "0.001+offsets", ("anger", "b"): "0.001", ("anger", "c"): "0.001"}


def test_nested_pick_weighs_the_noisy_lines_with_the_clean_ones():
    """--noisy-test: the noisy copies' rows count in the pick as much as the clean lines'. Here C=0.01 is a
    little worse on the clean lines (0.80 against 0.81) and much better on the noisy ones (0.80 against 0.60)."""
    rows = _rows(lambda test, left, C: 0.81 if C == 0.001 else 0.80)
    noisy = rows.copy()
    noisy["condition"] = "noise-" + noisy.condition
    noisy["auc"] = [0.60 if C == 0.001 else 0.80 for C in noisy.C]
    assert set(sc.nested_picks(rows)) == {0.001}
    assert set(sc.nested_picks(pd.concat([rows, noisy], ignore_index=True))) == {0.01}


def test_candidates_combine_extras():
    s = sc
    assert s.candidate("0.001+noise+logit") == {"embedding_C": 0.001, "average": "log-odds"}
    assert s.candidate("0.001+noise+prob") == {"embedding_C": 0.001, "average": "probability"}
    with pytest.raises(ValueError, match="two ways to average"):
        s.candidate("0.001+logit+prob")
    assert s.training_conditions("0.001+noise+logit") == ("wideband", "telephone", "noise-wideband",
                                                          "noise-telephone")
    assert s.training_conditions("0.001") == ("wideband", "telephone")
