"""The classifier's SGD, in a module of its own so that importing pipeline.classify (every page of
the app does) does not import scikit-learn, while saved models can still find the class."""
from __future__ import annotations

import numpy as np
from sklearn.linear_model import SGDClassifier

# Per class and fit: far more than 30 passes over the corpus make. Trained on 200,000 texts, 3 passes
# scored as well on the held-out files as 5 or 8 did, and on 30,000 so did 300k updates as 500k.
SGD_UPDATES = 300_000
MIN_EPOCHS = 3


class EpochBudgetSGD(SGDClassifier):
    """SGD whose passes over the data shrink as the data grows: the corpus's few thousand texts
    need the full max_iter passes, while on 200,000 texts a few passes already make more updates
    than that, and max_iter of them would take minutes.

    Its weights are kept sparse: of a million hashed columns only those of words seen in training
    are non-zero, and dense weights made every saved model ~480 MB to decompress in each worker
    process that classifies."""

    def fit(self, X, y, **kwargs):
        requested = self.max_iter
        self.max_iter = epochs_for(X.shape[0], requested)
        try:
            super().fit(X, y, **kwargs)
        finally:
            self.max_iter = requested  # get_params, and so clone, must keep seeing the setting
        return self.sparsify()


def epochs_for(n_samples: int, max_iter: int) -> int:
    return int(np.clip(np.ceil(SGD_UPDATES / max(n_samples, 1)), min(MIN_EPOCHS, max_iter), max_iter))
