"""Estimators of the tone models (scikit-learn conventions).

:class:`ToneClassifier` is a binary classifier with calibrated
probabilities: median imputation (NaN = not measurable), standardisation,
and an L2-regularised logistic regression, an RBF support-vector machine
with Platt scaling, or the mean of the two ("blend": the SVM's and the
logistic regression's probabilities averaged, which carries over between
corpora better than either alone). Given ``groups`` (speakers) at fit time, the SVM's Platt
scaling is fitted on scores of speakers held out of the SVM (grouped folds),
so the probabilities are calibrated for voices the model has not heard. It
follows scikit-learn's API (``__init__`` only stores parameters, fitted
attributes end in ``_``, ``classes_`` is kept) and passes
``sklearn.utils.estimator_checks.parametrize_with_checks``.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, PredefinedSplit, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

KINDS = ("logreg", "svm", "blend")
FUSIONS = ("mean", "calibrated")
#: How :class:`FusedToneClassifier` averages its members: their probabilities, or their log-odds.
AVERAGES = ("probability", "log-odds")


def at_prior(prob, prior):
    """Probabilities at even odds (what tonekit's models give) moved to a population where the class has
    share ``prior`` (0 < prior < 1), by Bayes' rule: the log-odds plus ``log(prior / (1 - prior))``.

    The models are trained with equal class weights, so 0.5 is the threshold of best balanced accuracy in
    any population; where the share of the class is known (say 10 % angry callers), this gives the
    probability for that population instead. Calibration at the test set's own share is the
    ``ece_prior`` of :func:`tonekit.models.train.metrics`.

    Examples
    --------
    >>> round(float(at_prior(0.5, 0.1)), 3)
    0.1
    >>> round(float(at_prior(0.9, 0.1)), 3)   # odds 9 times 1/9: even
    0.5
    """
    prior = float(prior)
    if not 0.0 < prior < 1.0:
        raise ValueError(f"prior must be strictly between 0 and 1, not {prior!r}")
    p = np.clip(np.asarray(prob, dtype=np.float64), 1e-12, 1 - 1e-12)
    return expit(np.log(p / (1 - p)) + np.log(prior / (1 - prior)))


def _class_balanced(y, sw, classes, class_weight="balanced"):
    """Sample weights times class weights (``"balanced"``: every class gets the same total weight)."""
    if class_weight == "balanced":
        totals = {c: sw[y == c].sum() for c in classes}
        per_class = np.array([sw.sum() / (len(classes) * totals[c]) if totals[c] > 0 else 0.0 for c in classes])
        return sw * per_class[np.searchsorted(classes, y)]
    if isinstance(class_weight, dict):
        return sw * np.array([class_weight.get(c, 1.0) for c in y])
    return sw


def _positive(name: str, value) -> None:
    """ValueError unless ``value`` is a real number > 0 (not a string, a bool or NaN)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not value > 0:
        raise ValueError(f"{name} must be a number > 0, not {value!r}")


def _check_settings(kind, C, C_logreg, class_weight):
    """ValueError for settings :class:`ToneClassifier` and :class:`FusedToneClassifier` cannot use."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    _positive("C", C)
    _positive("C_logreg", C_logreg)
    if not (class_weight in ("balanced", None) or isinstance(class_weight, dict)):
        raise ValueError(f"class_weight must be 'balanced', a dict or None, not {class_weight!r}")


def _base_learners(kind, C, C_logreg) -> dict:
    """A member's base learners by name: its RBF SVM and / or its logistic regression (a blend's
    regression takes ``C_logreg``, a plain one ``C``)."""
    made = {}
    if kind in ("svm", "blend"):
        made["svm"] = SVC(C=C, kernel="rbf", gamma="scale")
    if kind in ("logreg", "blend"):
        made["logreg"] = LogisticRegression(C=C if kind == "logreg" else C_logreg, max_iter=2000)
    return made


def _pipeline(clf) -> Pipeline:
    """Median imputation (NaN = not measurable), standardisation, then ``clf``."""
    return Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                     ("scale", StandardScaler()), ("clf", clf)])


def _logits(p) -> np.ndarray:
    """Log-odds of the positive class (two classes) or log-probabilities (more), clipped away from 0 and 1."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p[:, 1:] / p[:, :1]) if p.shape[1] == 2 else np.log(p)


def _proba(z, calibrator=None) -> np.ndarray:
    """Class probabilities from decision scores: through ``calibrator`` (a fitted logistic regression on the
    scores), else as a logistic regression's own (sigmoid for two classes, softmax for more)."""
    if calibrator is not None:
        return _lr_proba(calibrator, z)
    if z.shape[1] == 1:
        p = expit(z[:, 0])
        return np.c_[1 - p, p]
    return softmax(z, axis=1)


def _lr_proba(lr, z) -> np.ndarray:
    """``lr.predict_proba(z)`` of a fitted two-class :class:`~sklearn.linear_model.LogisticRegression` in plain
    numpy (the same sigmoid of the same decision value, without scikit-learn's per-call checks); more
    classes go to scikit-learn."""
    if type(lr) is not LogisticRegression or lr.coef_.shape[0] != 1:
        return lr.predict_proba(z)
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] != lr.coef_.shape[1]:
        return lr.predict_proba(z)   # scikit-learn's error
    p = expit(z @ lr.coef_[0] + lr.intercept_[0])
    return np.c_[1 - p, p]


def _prepared(pipe, X) -> np.ndarray:
    """``pipe[:-1].transform(X)``: for :func:`_pipeline`'s own steps (median imputation, standardisation) in
    plain numpy, the same numbers without scikit-learn's per-call checks. Those checks cost about a
    millisecond per step; the shipped models run 12 pipelines on every table they score, so for one
    utterance the checks took longer than the arithmetic."""
    imp, sc = pipe.named_steps.get("impute"), pipe.named_steps.get("scale")
    X = np.asarray(X, dtype=np.float64)
    if (len(pipe) != 3 or type(imp) is not SimpleImputer or type(sc) is not StandardScaler
            or imp.strategy != "median" or imp.add_indicator or not (imp.missing_values != imp.missing_values)
            or X.ndim != 2 or X.shape[1] != len(imp.statistics_)):
        return pipe[:-1].transform(X)
    nan = np.isnan(X)
    if not np.isfinite(X[~nan]).all():
        return pipe[:-1].transform(X)   # scikit-learn's error for infinity
    X = np.where(nan, imp.statistics_, X)
    if sc.with_mean:
        X -= sc.mean_
    if sc.with_std:
        X /= sc.scale_
    return X


def _scores(pipe, X) -> np.ndarray:
    """A fitted pipeline's decision function as a 2-D array (one column for two classes)."""
    clf = pipe[-1]
    if isinstance(clf, SVC) and clf.kernel == "rbf" and len(clf.classes_) == 2:
        return _rbf_decision(clf, _prepared(pipe, X))[:, None]
    if type(clf) is LogisticRegression:
        return _prepared(pipe, X) @ clf.coef_.T + clf.intercept_
    d = pipe.decision_function(X)
    return d.reshape(len(X), -1)


def _rbf_decision(svc, X, chunk: int = 128) -> np.ndarray:
    """A fitted two-class RBF :class:`~sklearn.svm.SVC`'s decision function, ``dual_coef_ @ K(SV, X) +
    intercept_``, with the kernel from matrix products and its exponential in float32: within about 1e-6
    of ``svc.decision_function``, several times faster on a call's windows (libsvm takes one row and one
    support vector at a time). Rows are taken ``chunk`` at a time, so a long call never holds a rows x
    vectors matrix."""
    sv = svc.support_vectors_
    coef = svc.dual_coef_[0]
    sv_sq = np.einsum("ij,ij->i", sv, sv)
    X = np.asarray(X, dtype=np.float64)
    out = np.empty(len(X))
    for i in range(0, len(X), chunk):
        x = X[i:i + chunk]
        d2 = x @ sv.T
        d2 *= 2.0
        d2 -= sv_sq
        d2 -= np.einsum("ij,ij->i", x, x)[:, None]
        np.minimum(d2, 0.0, out=d2)   # -|x - sv|^2
        k = np.exp(d2.astype(np.float32) * np.float32(svc._gamma))
        out[i:i + chunk] = k @ coef
    return out + svc.intercept_[0]


def _as_array(est, X) -> np.ndarray:
    """``X`` checked against what ``est`` was fitted on, as a float array."""
    names = getattr(est, "feature_names_in_", None)
    if names is not None and list(getattr(X, "columns", ())) == list(names):
        # the fitted columns in the fitted order: the array is what validate_data would give, without its
        # DataFrame name checks (three models on one row: 18-20 -> 16 ms); the pipeline checks the values
        return np.asarray(X, dtype=np.float64)
    return validate_data(est, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)


class _ToneBase(ClassifierMixin, BaseEstimator):
    """What both tone classifiers share: the most probable class, and NaN allowed in ``X``."""

    def predict(self, X):
        """The most probable class (for two classes: probability of ``classes_[1]`` >= 0.5)."""
        proba = self.predict_proba(X)   # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class ToneClassifier(_ToneBase):
    """Calibrated classifier for one tone target (anger, calm or warmth).

    Binary in tonekit's use; more classes work too (multinomial).

    Parameters
    ----------
    kind : {"logreg", "svm", "blend"}
        Logistic regression (probabilities calibrated by construction), an
        RBF SVM (probabilities by Platt scaling, fitted with internal CV), or
        the mean of both models' probabilities (soft voting).
    C : float > 0
        Inverse regularisation strength (of the SVM when ``kind="blend"``).
    C_logreg : float > 0
        Inverse regularisation strength of the logistic regression in a blend
        (``kind="blend"`` only).
    class_weight : "balanced", dict or None
        "balanced" weighs classes equally, so 0.5 is the threshold that
        balances recall of both classes (what unweighted average recall rewards).
    random_state : int
        Not used: every fit is deterministic (the SVM's calibration folds are
        not shuffled, and no solver draws numbers), whatever numpy's global
        state. Taken so that :class:`FusedToneClassifier`, whose folds it
        seeds, and parameter searches can set it on either.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.r_[np.zeros((20, 2)), np.ones((20, 2))] + np.random.default_rng(0).normal(0, .1, (40, 2))
    >>> y = np.r_[np.zeros(20), np.ones(20)]
    >>> ToneClassifier().fit(X, y).predict([[1.0, 1.0]])
    array([1.])
    """

    def __init__(self, kind: str = "logreg", C: float = 0.1, C_logreg: float = 0.1, class_weight="balanced",
                 random_state: int = 0):
        self.kind = kind
        self.C = C
        self.C_logreg = C_logreg
        self.class_weight = class_weight
        self.random_state = random_state

    def _make(self, calibration_cv=3):
        _check_settings(self.kind, self.C, self.C_logreg, self.class_weight)
        # class weights go in as sample weights (see fit), so weighting and repeating samples agree
        learners = _base_learners(self.kind, self.C, self.C_logreg)
        if self.kind == "logreg":
            return _pipeline(learners["logreg"])
        # one SVM on all data, Platt scaling fitted on its 3-fold out-of-fold scores (a third of the size
        # of an ensemble of three calibrated SVMs); the folds are speaker-grouped when fit gets groups
        clf = CalibratedClassifierCV(learners["svm"], method="sigmoid", cv=calibration_cv, ensemble=False)
        if self.kind == "blend":
            clf = VotingClassifier([("svm", clf), ("logreg", learners["logreg"])], voting="soft")
        return _pipeline(clf)

    def fit(self, X, y, sample_weight=None, groups=None):
        """Fit on features ``X`` (NaN allowed) and labels ``y`` (two classes).

        ``groups`` (one label per row, for example the speaker): the SVM's
        Platt scaling is then fitted on out-of-group scores (up to 3 grouped
        folds), not on folds that share speakers, or the two line conditions
        of one utterance, with the SVM that scores them. Such folds give
        optimistic scores and so over-confident probabilities on new voices.
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y has {len(self.classes_)} class; ToneClassifier needs at least 2")
        self.pipeline_ = self._make(self._calibration_cv(y, groups))
        sw = _class_balanced(y, _check_sample_weight(sample_weight, X), self.classes_, self.class_weight)
        self.pipeline_.fit(X, y, scale__sample_weight=sw, clf__sample_weight=sw)
        return self

    def _calibration_cv(self, y, groups):
        if groups is None or self.kind == "logreg":
            return 3
        groups = np.asarray(groups)
        if len(groups) != len(y):
            raise ValueError(f"groups has {len(groups)} labels for {len(y)} samples")
        n = min(3, len(np.unique(groups)))
        if n < 2:
            return 3
        fold = np.empty(len(y), dtype=np.int8)
        for k, (_, test) in enumerate(GroupKFold(n_splits=n).split(y, y, groups)):
            fold[test] = k
        if any(len(np.unique(y[fold != k])) < 2 for k in range(n)):
            return 3  # a grouped fold would leave one class out of training
        return PredefinedSplit(fold)

    def predict_proba(self, X):
        """Probabilities of ``classes_`` (columns in that order)."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba(_as_array(self, X))



class FusedToneClassifier(_ToneBase):
    """Late fusion: the mean probability of a :class:`ToneClassifier` on the prosodic features and one on
    each learned embedding (:mod:`tonekit.features.embedding`, :mod:`tonekit.features.whisper`).

    Each member sees only its own columns. A row without an embedding (all
    of a member's columns NaN: a lone utterance with no speaker reference, or
    a window with no embedded speech) gets the mean of the members it has
    (the prosodic member's probability alone if it has none). On corpora
    left out of training, the fusion beats each member alone for all three
    targets (results/embeddings.md, results/whisper_layer2.md).

    The mean of calibrated probabilities is not calibrated: where the
    members agree it is under-confident. ``fusion="calibrated"`` (what the
    shipped models use) maps the mean through a sigmoid in its log-odds,
    fitted on out-of-fold scores of speakers held out of the members
    (``groups``), so the probabilities are the ones earned on new voices;
    one sigmoid for each set of members a row may have (prosody alone,
    prosody and one embedding, ..., all), each fitted on the out-of-fold
    mean of just those members.
    Its members are the same models, fitted once on ``calibration_folds``
    speaker-grouped folds and once on everything; an SVM is Platt-scaled on
    its own out-of-fold scores (as in :class:`ToneClassifier`), so the mean
    ranks rows as ``fusion="mean"`` does.

    Parameters
    ----------
    kind, C, C_logreg, class_weight, random_state
        As :class:`ToneClassifier`, for the prosodic member (and the embeddings', unless set below).
    embedding_kind : {"logreg", "svm", "blend"} or None
        The embedding members' kind (None: ``kind``).
    embedding_C : float or None
        The embedding members' ``C`` (None: ``C``).
    embedding_prefix : str or tuple of str
        Columns of a DataFrame whose names start with a prefix are an embedding member's: one member per
        prefix (``("emb_", "wsp_", "wsp_l1_", "wsp_l3_")``: the GE2E voice embedding and the outputs of
        Whisper's second, first and third layers). A column that starts with several prefixes is the member's
        of the longest.
    n_embedding : int
        Without column names (an array), the last ``n_embedding`` columns are the (one) embedding's.
    fusion : {"mean", "calibrated"}
        The plain mean of the members' probabilities, or the mean recalibrated on speaker-grouped
        out-of-fold scores (see above).
    calibration_folds : int >= 2
        Folds of ``fusion="calibrated"`` (grouped by ``groups`` when there are that many groups,
        else stratified).
    calibration_C : float > 0
        Inverse regularisation of the calibrating logistic regressions (``fusion="calibrated"``).
    domain_offsets : bool
        With ``fusion="calibrated"`` and ``fit(..., domains=...)`` (the corpus of each row): each
        logistic-regression component is fitted with one free offset of its log-odds per domain, so
        that corpora which draw the line between their labels at different strengths of voice do not
        bend the weights the components share; it then predicts with the mean of those offsets (an
        unknown corpus is an average one). Without ``domains``, or with one domain, nothing changes.
    average : {"probability", "log-odds"}
        What the members' mean is taken of (two classes; with more, always the probabilities). The
        shipped anger and calm models average log-odds, in which a member that is sure counts for more;
        warmth averages probabilities (each chosen by nested leave-one-corpus-out, docs/tone_models.md).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.zeros(30), np.ones(30)]
    >>> X = np.c_[y + rng.normal(0, .3, 60), y[:, None] + rng.normal(0, .3, (60, 2))]   # 1 prosodic, 2 embedding
    >>> m = FusedToneClassifier(kind="logreg", n_embedding=2).fit(X, y)
    >>> (m.prosody_columns_.tolist(), m.embedding_columns_.tolist())
    ([0], [1, 2])
    >>> m.predict([[1.0, 1.0, 1.0], [0.0, np.nan, np.nan]])   # the second row: prosody alone
    array([1., 0.])
    """

    def __init__(self, kind: str = "blend", C: float = 0.3, C_logreg: float = 0.1, class_weight="balanced",
                 random_state: int = 0, embedding_kind=None, embedding_C=None, embedding_prefix="emb_",
                 n_embedding: int = 0, fusion: str = "mean", calibration_folds: int = 3, calibration_C: float = 1.0,
                 domain_offsets: bool = False, average: str = "probability"):
        self.kind = kind
        self.C = C
        self.C_logreg = C_logreg
        self.class_weight = class_weight
        self.random_state = random_state
        self.embedding_kind = embedding_kind
        self.embedding_C = embedding_C
        self.embedding_prefix = embedding_prefix
        self.n_embedding = n_embedding
        self.fusion = fusion
        self.calibration_folds = calibration_folds
        self.calibration_C = calibration_C
        self.domain_offsets = domain_offsets
        self.average = average

    def _settings(self, embedding=False) -> tuple:
        """``(kind, C)`` of the prosodic member, or of an embedding member."""
        if not embedding:
            return self.kind, self.C
        return self.embedding_kind or self.kind, self.C if self.embedding_C is None else self.embedding_C

    def _member(self, embedding=False):
        kind, C = self._settings(embedding)
        return ToneClassifier(kind=kind, C=C, C_logreg=self.C_logreg, class_weight=self.class_weight,
                              random_state=self.random_state)

    def _prefixes(self) -> tuple:
        p = self.embedding_prefix
        prefixes = (p,) if isinstance(p, str) else tuple(p)
        if not prefixes or not all(isinstance(x, str) and x for x in prefixes):
            raise ValueError(f"embedding_prefix must be a non-empty str or tuple of them, not {p!r}")
        return prefixes

    #: Models saved before ``average`` existed have no such attribute: they average probabilities.
    average = "probability"

    def _fused(self, P, n: int, width: int, strict: bool = False) -> np.ndarray:
        """The members' mean (:func:`_nanmean_members`), of their probabilities or (``average="log-odds"``, two
        classes) of their log-odds, returned as probabilities."""
        if self.average != "log-odds" or width != 2:
            return _nanmean_members(P, n, width, strict)
        Z = [None if p is None else np.c_[np.zeros(len(p)), _logits(p)[:, 0]] for p in P]
        z = _nanmean_members(Z, n, width, strict)[:, 1]
        p1 = expit(z)
        return np.c_[1 - p1, p1]

    def _member_names(self) -> list:
        """Names of the embedding members: ``embedding`` for one, ``embedding:<prefix>`` for several."""
        prefixes = self._prefixes()
        return ["embedding"] if len(prefixes) == 1 else [f"embedding:{p}" for p in prefixes]

    def fit(self, X, y, sample_weight=None, groups=None, domains=None):
        """Fit the members (``groups`` as :meth:`ToneClassifier.fit`); rows without a member's embedding do
        not train that member. With ``fusion="calibrated"``, ``groups`` (speakers) also make the calibration's
        folds, so it learns from scores of voices its members have not heard. ``domains`` (the corpus of each
        row) is used with ``domain_offsets`` only."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"y has {len(self.classes_)} class; FusedToneClassifier needs at least 2")
        if not (isinstance(self.n_embedding, (int, np.integer)) and self.n_embedding >= 0):
            raise ValueError(f"n_embedding must be an int >= 0, not {self.n_embedding!r}")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, not {self.fusion!r}")
        if not (isinstance(self.calibration_folds, (int, np.integer)) and self.calibration_folds >= 2):
            raise ValueError(f"calibration_folds must be an int >= 2, not {self.calibration_folds!r}")
        _positive("calibration_C", self.calibration_C)
        if self.domain_offsets not in (True, False):
            raise ValueError(f"domain_offsets must be True or False, not {self.domain_offsets!r}")
        if self.domain_offsets and self.fusion != "calibrated":
            raise ValueError('domain_offsets needs fusion="calibrated"')
        if self.average not in AVERAGES:
            raise ValueError(f"average must be one of {AVERAGES}, not {self.average!r}")
        if domains is not None:
            domains = np.asarray(domains)
            if domains.shape != (len(y),):
                raise ValueError(f"domains has shape {domains.shape}; expected one label per sample ({len(y)})")
        self.domains_ = [] if domains is None or not self.domain_offsets else np.unique(domains).tolist()
        prefixes = self._prefixes()
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            # a column is the member's of the longest prefix it starts with ("wsp_l1_0": "wsp_l1_", not "wsp_")
            owner = [max((p for p in prefixes if str(c).startswith(p)), key=len, default=None) for c in names]
            member = [np.array([o == p for o in owner]) for p in prefixes]
        else:
            last = np.zeros(X.shape[1], bool)
            if self.n_embedding:
                last[-min(self.n_embedding, X.shape[1]):] = True
            member = [last] + [np.zeros(X.shape[1], bool) for _ in prefixes[1:]]
        emb = np.logical_or.reduce(member)
        self.prosody_columns_ = np.flatnonzero(~emb)
        self.embedding_columns_ = np.flatnonzero(emb)
        self.member_columns_ = [np.flatnonzero(m) for m in member]
        sw = None if sample_weight is None else _check_sample_weight(sample_weight, X)
        g = None if groups is None else np.asarray(groups)
        has = self._available(X)

        if self.fusion == "calibrated":
            self.prosody_ = self.embedding_ = None
            self.embeddings_ = []
            return self._fit_calibrated(X, y, sw, g, has, domains if len(self.domains_) > 1 else None)

        def fit_on(cols, rows, embedding=False):
            if len(cols) == 0 or rows.sum() == 0 or len(np.unique(y[rows])) < 2:
                return None
            return self._member(embedding).fit(X[np.ix_(rows, cols)], y[rows], sample_weight=None if sw is None else sw[rows],
                                      groups=None if g is None else g[rows])

        self.prosody_ = fit_on(self.prosody_columns_, np.ones(len(y), bool))
        self.embeddings_ = [fit_on(cols, has[:, k], True) for k, cols in enumerate(self.member_columns_)]
        if self.prosody_ is None and all(e is None for e in self.embeddings_):
            self.embeddings_ = [fit_on(cols, np.ones(len(y), bool), True) for cols in self.member_columns_]
        self.embedding_ = self.embeddings_[0]
        return self

    def _available(self, X) -> np.ndarray:
        """(rows, members): whether each row has each embedding member's values (any of its columns finite)."""
        return np.stack([np.isfinite(X[:, cols]).any(axis=1) if len(cols) else np.zeros(len(X), bool)
                         for cols in self.member_columns_], axis=1)

    def predict_proba(self, X):
        """Probabilities of ``classes_``: the mean of the members' a row has (see the class docs)."""
        check_is_fitted(self, "classes_")
        return self._predict_proba_ordered(_as_array(self, X))

    def _predict_proba_ordered(self, X):
        """:meth:`predict_proba` of a float array whose columns are already the fitted ones, in their order
        (what :class:`~tonekit.models.store.ToneModel` builds from a feature table by name)."""
        check_is_fitted(self, "classes_")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[-1] if X.ndim else 0} features, but {type(self).__name__} "
                             f"is expecting {self.n_features_in_} features as input")
        if self.fusion == "calibrated":
            return self._predict_calibrated(X)
        has = self._available(X)
        P = [None if self.prosody_ is None else self.prosody_.predict_proba(X[:, self.prosody_columns_])]
        for k, (est, cols) in enumerate(zip(self.embeddings_, self.member_columns_)):
            p = None
            if est is not None:
                rows = has[:, k] if self.prosody_ is not None else np.ones(len(X), bool)
                p = np.full((len(X), len(self.classes_)), np.nan)
                if rows.any():
                    p[rows] = est.predict_proba(X[np.ix_(rows, cols)])
            P.append(p)
        return self._fused(P, len(X), len(self.classes_))

    # ------------------------------------------------------------------ calibrated fusion
    def _components(self, member=None):
        """The base scorers of one member (None: the prosodic one; else an embedding member's index):
        ``[(name, pipeline)]`` (a blend has an SVM and a logistic regression)."""
        kind, C = self._settings(member is not None)
        _check_settings(kind, C, self.C_logreg, self.class_weight)
        block = "prosody" if member is None else self._member_names()[member]
        return [(f"{block}/{name}", _pipeline(clf)) for name, clf in _base_learners(kind, C, self.C_logreg).items()]

    def _calibration_folds(self, y, groups):
        """Fold number of each row: speaker-grouped when ``groups`` has enough speakers, else stratified
        (-1 everywhere: too few rows of a class to split)."""
        fold = np.full(len(y), -1)
        if groups is not None and len(np.unique(groups)) >= self.calibration_folds:
            splits = GroupKFold(n_splits=self.calibration_folds).split(y, y, groups)
        else:
            n = min(self.calibration_folds, np.bincount(np.unique(y, return_inverse=True)[1]).min())
            if n < 2:
                return fold
            splits = StratifiedKFold(n_splits=n, shuffle=True, random_state=self.random_state).split(y, y)
        for k, (_, test) in enumerate(splits):
            fold[test] = k
        return fold

    def _fit_calibrated(self, X, y, sw, g, has, domains=None):
        sw = _class_balanced(y, np.ones(len(y)) if sw is None else sw, self.classes_, self.class_weight)
        every = np.ones(len(y), bool)
        parts = []  # (name, columns, rows it trains on, pipeline)
        if len(self.prosody_columns_):
            parts += [(n, self.prosody_columns_, every, p) for n, p in self._components()]
        for k, cols in enumerate(self.member_columns_):
            if len(cols) and has[:, k].any():
                parts += [(n, cols, has[:, k], p) for n, p in self._components(k)]
        if not parts:
            parts = [(n, self.member_columns_[0], every, p) for n, p in self._components(0)]
        fold = self._calibration_folds(y, g)
        Z, kept = [], []
        width = 1 if len(self.classes_) == 2 else len(self.classes_)
        for name, cols, rows, pipe in parts:
            def fit(train):
                train = train & rows
                if len(np.unique(y[train])) < len(self.classes_):
                    return None
                if domains is not None and type(pipe[-1]) is LogisticRegression:
                    return _fit_with_offsets(clone(pipe), X[np.ix_(train, cols)], y[train], sw[train],
                                             domains[train])
                return clone(pipe).fit(X[np.ix_(train, cols)], y[train], scale__sample_weight=sw[train],
                                       clf__sample_weight=sw[train])
            final = fit(every)
            if final is None:
                continue
            z = np.full((len(y), width), np.nan)
            for k in range(fold.max() + 1):
                est = fit(fold != k)
                test = (fold == k) & rows
                if est is not None and test.any():
                    z[test] = _scores(est, X[np.ix_(test, cols)])
            # rows without out-of-fold scores (too little data to split) fall back to in-sample scores
            miss = rows & ~np.isfinite(z).all(axis=1)
            if miss.any():
                z[miss] = _scores(final, X[np.ix_(miss, cols)])
            Z.append(z)
            kept.append((name, cols, rows, final))
        self.component_names_ = [name for name, *_ in kept]
        self.component_columns_ = [cols for _, cols, _, _ in kept]
        self.components_ = [final for *_, final in kept]
        # an SVM's scores -> probabilities by Platt scaling on its out-of-fold scores; a logistic
        # regression's are its own
        self.component_calibrators_ = [self._calibrator(z[rows], y[rows], sw[rows]) if name.endswith("/svm")
                                       else None for z, (name, _, rows, _) in zip(Z, kept)]
        P = [np.where(rows[:, None], _proba(np.nan_to_num(z), cal), np.nan)
             for z, cal, (_, _, rows, _) in zip(Z, self.component_calibrators_, kept)]
        members = self._members(P)
        # one recalibration of the out-of-fold fused mean for each set of members a row may have
        k = len(self.member_columns_)
        patterns = [tuple(bool(b >> i & 1) for i in range(k)) for b in range(2 ** k)]
        self.calibration_patterns_, self.calibrators_ = [], []
        for pattern in patterns:
            use = [members[0]] + [m if on else None for m, on in zip(members[1:], pattern)]
            if any(on and m is None for m, on in zip(members[1:], pattern)):
                continue
            fused = self._fused(use, len(y), len(self.classes_), strict=True)
            rows = np.isfinite(fused).all(axis=1)
            if not rows.any() or len(np.unique(y[rows])) < len(self.classes_):
                continue
            self.calibration_patterns_.append(list(pattern))
            self.calibrators_.append(self._calibrator(_logits(fused[rows]), y[rows], sw[rows]))
        return self

    def _calibrator(self, z, y, sw):
        return LogisticRegression(C=self.calibration_C, max_iter=1000).fit(z, y, sample_weight=sw)

    def _members(self, P) -> list:
        """``[prosody, embedding member 1, ...]``: each member's probabilities (the mean of its components'), or
        None for a member without components."""
        block = [n.split("/")[0] for n in self.component_names_]
        out = []
        for name in ["prosody"] + self._member_names():
            ps = [p for p, b in zip(P, block) if b == name]
            out.append(np.mean(ps, axis=0) if ps else None)
        return out

    def _predict_calibrated(self, X):
        check_is_fitted(self, "components_")
        P = [_proba(_scores(c, X[:, cols]), cal) for c, cols, cal in
             zip(self.components_, self.component_columns_, self.component_calibrators_)]
        members = self._members(P)
        has = self._available(X)
        has &= np.array([m is not None for m in members[1:]])[None, :]
        if members[0] is None:   # no prosodic member: a row needs an embedding; use the first one
            has[:, 0] |= ~has.any(axis=1)
        out = np.full((len(X), len(self.classes_)), np.nan)
        patterns = [tuple(p) for p in self.calibration_patterns_]
        code = has @ (1 << np.arange(has.shape[1]))   # each row's set of members, as bits
        for b in np.unique(code):
            rows = code == b
            pattern = tuple(bool(b >> i & 1) for i in range(has.shape[1]))
            while pattern not in patterns:   # a set of members never seen in training: drop the last one present
                on = [i for i, v in enumerate(pattern) if v]
                pattern = tuple(False if i == on[-1] else v for i, v in enumerate(pattern))
            use = [members[0]] + [m if on else None for m, on in zip(members[1:], pattern)]
            fused = self._fused([None if m is None else m[rows] for m in use], int(rows.sum()),
                                len(self.classes_), strict=True)
            out[rows] = _lr_proba(self.calibrators_[patterns.index(pattern)], _logits(fused))
        return out


#: How much larger than a feature (in standard deviations) a domain's indicator column is when
#: :func:`_fit_with_offsets` fits it: its weight's share of the L2 penalty shrinks by this factor squared, so
#: the offsets are (nearly) free while the shared weights keep their penalty.
DOMAIN_SCALE = 100.0


def _fit_with_offsets(pipe: Pipeline, X, y, sw, domains) -> Pipeline:
    """Fit ``pipe`` (imputation, scaling, a :class:`~sklearn.linear_model.LogisticRegression`) with one free
    offset of the log-odds per domain, then keep a plain logistic regression whose intercept is the mean of
    the domains' (each domain weighs the same).

    The offsets enter as indicator columns of height :data:`DOMAIN_SCALE` beside the scaled features, so the
    penalty barely touches them; a domain's offset is the model's intercept plus its column's weight times
    that height. The pipeline that comes back predicts like any fitted one and holds the same types."""
    head = pipe[:-1]
    Z = head.fit_transform(X, scale__sample_weight=sw)
    levels, idx = np.unique(domains, return_inverse=True)
    D = np.zeros((len(Z), len(levels)))
    D[np.arange(len(Z)), idx] = DOMAIN_SCALE
    lr = clone(pipe[-1]).fit(np.c_[Z, D], y, sample_weight=sw)
    p = Z.shape[1]
    out = clone(pipe[-1])
    out.classes_ = lr.classes_
    out.coef_ = lr.coef_[:, :p].copy()
    out.intercept_ = lr.intercept_ + DOMAIN_SCALE * lr.coef_[:, p:].mean(axis=1)
    out.n_features_in_ = p
    out.n_iter_ = lr.n_iter_
    pipe.steps[-1] = (pipe.steps[-1][0], out)
    return pipe


def _nanmean_members(P, n: int, width: int, strict: bool = False) -> np.ndarray:
    """Row-wise mean of the members' probabilities that are given (not None) and finite in that row; with
    ``strict``, a row missing any given member is NaN."""
    given = [p for p in P if p is not None]
    if not given:
        return np.full((n, width), np.nan)
    S = np.stack(given)                       # (members, rows, classes)
    ok = np.isfinite(S).all(axis=2)
    if strict:
        out = np.nanmean(S, axis=0)
        out[~ok.all(axis=0)] = np.nan
        return out
    total = np.where(ok[..., None], S, 0.0).sum(axis=0)
    count = ok.sum(axis=0)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
