"""Several gradient-boosting fits on the same samples, their stages shared by threads.

A fit is a sequence of stages; a stage's trees (one per class) depend only on the probabilities at the
start of the stage, so they are independent of each other. A stage is cut into work items of
`CLASSES_PER_ITEM` classes; the threads take the items of every fit's current stage from one queue
(the fit with the most trees left first), and the thread that finishes a stage's last item adds the
stage's importances (in the serial order: `add_importance`) and opens the next stage. Every number is
therefore the one of the one-thread kernels (`boost_classifier`, `boost_regressor`), bit for bit,
whatever the number of threads and the order in which they take the items; only the balance changes:
with threads over whole fits, the largest factor (40 classes of 113 trees per stage for dSprites) set the
time; here every thread is busy until the last stage.

The kernels release the GIL, so the threads run in parallel; the Python bookkeeping between items (a lock
and a list) is a few microseconds against milliseconds of kernel per item.
"""

from __future__ import annotations

import threading

import numpy as np

from .boosting import (add_importance, fit_classes, fit_regression_stage, n_tree_nodes, normalized, prepare,
                       probabilities, start_classifier, start_regressor, workspace)

__all__ = ["CLASSES_PER_ITEM", "SharedSamples", "ClassifierFit", "RegressorFit", "run_fits"]

CLASSES_PER_ITEM = 4
"""Classes of one stage in one work item (about 5 ms of kernel at 10,000 samples and d = 10)."""


class SharedSamples:
    """The training and test samples every fit reads: `x` `(n, d)` and `x_test` float32, the sort order
    (`sort_columns`), `x` transposed and the reciprocals of the counts (`prepare`)."""

    def __init__(self, x: np.ndarray, order: np.ndarray, x_test: np.ndarray) -> None:
        self.x, self.order, self.x_test = x, order, x_test
        self.columns, self.reciprocal = prepare(x)


class _Fit:
    """One boosting fit stepped stage by stage: `begin_stage`, `fit_item(item, ws)` for every item of the
    stage (in any order, in any threads), `end_stage`."""

    n_items = 1
    trees_per_stage = 1
    features: np.ndarray
    """`(trees per stage, nodes)` int64: the feature split at each node of the stage's trees."""
    decreases: np.ndarray
    """`(trees per stage, nodes)`: the weighted impurity decrease of each node's split."""

    def __init__(self, samples: SharedSamples, n_estimators: int, learning_rate: float, max_depth: int,
                 keys: np.ndarray) -> None:
        self.samples, self.n_estimators, self.learning_rate, self.max_depth = samples, n_estimators, learning_rate, max_depth
        self.keys = keys
        self.stage = 0
        self.pending = 0
        self.importance = np.zeros(samples.x.shape[1])
        self.n_nodes = n_tree_nodes(max_depth)

    @property
    def trees_left(self) -> int:
        return (self.n_estimators - self.stage) * self.trees_per_stage

    def begin_stage(self) -> None:
        pass

    def fit_item(self, item: int, ws) -> None:
        raise NotImplementedError

    def end_stage(self) -> None:
        add_importance(self.importance, self.features, self.decreases)
        self.stage += 1


class ClassifierFit(_Fit):
    """`boost_classifier`, stepped: labels `y` 0..n_classes-1; `result()` gives (importance, raw train
    `(n, T)`, raw test `(n_test, T)`)."""

    def __init__(self, samples, y, n_classes, n_estimators, learning_rate, max_depth, keys) -> None:
        super().__init__(samples, n_estimators, learning_rate, max_depth, keys)
        n = samples.x.shape[0]
        self.raw, self.raw_test, self.target = start_classifier(y, n_classes, samples.x_test.shape[0])
        self.trees_per_stage = t_count = self.raw.shape[0]
        self.proba = np.empty((t_count, n))
        self._top, self._total = np.empty(n), np.empty(n)
        self.features = np.empty((t_count, self.n_nodes), dtype=np.int64)
        self.decreases = np.empty((t_count, self.n_nodes))
        self.items = [(start, min(start + CLASSES_PER_ITEM, t_count)) for start in range(0, t_count, CLASSES_PER_ITEM)]
        self.n_items = len(self.items)

    def begin_stage(self) -> None:
        probabilities(self.raw, self.proba, self._top, self._total)

    def fit_item(self, item, ws) -> None:
        s = self.samples
        start, stop = self.items[item]
        fit_classes(s.x, s.columns, s.order, s.x_test, self.target, self.proba, self.raw, self.raw_test, start, stop,
                    self.keys[self.stage], self.learning_rate, self.max_depth, s.reciprocal, ws, self.features,
                    self.decreases)

    def result(self):
        return normalized(self.importance), self.raw.T.copy(), self.raw_test.T.copy()


class RegressorFit(_Fit):
    """`boost_regressor`, stepped: targets `y` float64; `result()` gives (importance, prediction train,
    prediction test)."""

    def __init__(self, samples, y, n_estimators, learning_rate, max_depth, keys) -> None:
        super().__init__(samples, n_estimators, learning_rate, max_depth, keys)
        self.y = y
        self.raw, self.raw_test = start_regressor(y, samples.x_test.shape[0])
        self.features = np.empty((1, self.n_nodes), dtype=np.int64)
        self.decreases = np.empty((1, self.n_nodes))

    def fit_item(self, item, ws) -> None:
        s = self.samples
        fit_regression_stage(s.x, s.columns, s.order, s.x_test, self.y, self.raw, self.raw_test, self.keys[self.stage],
                             self.learning_rate, self.max_depth, s.reciprocal, ws, self.features, self.decreases)

    def result(self):
        return normalized(self.importance), self.raw, self.raw_test


def _workspace(fits) -> tuple:
    n, d = fits[0].samples.x.shape
    if len({fit.n_nodes for fit in fits}) != 1:
        raise ValueError("the fits run together must have the same max_depth (they share the threads' workspaces)")
    return workspace(n, d, fits[0].n_nodes, fits[0].samples.x_test.shape[0])


def run_fits(fits: list[_Fit], n_threads: int) -> None:
    """Run every fit to its last stage with `n_threads` threads sharing the stages' items (see the module
    docstring); the results are each fit's `result()`. An exception in a thread stops the others and is
    raised here."""
    fits = [fit for fit in fits if fit.n_estimators > 0]
    if not fits:
        return
    if n_threads <= 1:
        ws = _workspace(fits)
        for fit in fits:
            while fit.stage < fit.n_estimators:
                fit.begin_stage()
                for item in range(fit.n_items):
                    fit.fit_item(item, ws)
                fit.end_stage()
        return
    lock = threading.Condition()
    ready: list[tuple[_Fit, int]] = []
    running = [len(fits)]  # fits not yet at their last stage
    errors: list[BaseException] = []
    for fit in fits:
        fit.begin_stage()
        fit.pending = fit.n_items
        ready.extend((fit, item) for item in range(fit.n_items))

    def take():
        """The next item (of the fit with the most trees left), or None when all is done or failed."""
        with lock:
            while not ready and running[0] > 0 and not errors:
                lock.wait()
            if errors or not ready:
                return None
            index = max(range(len(ready)), key=lambda r: (ready[r][0].trees_left, -r))
            return ready.pop(index)

    def worker():
        ws = _workspace(fits)
        try:
            while (job := take()) is not None:
                fit, item = job
                fit.fit_item(item, ws)
                with lock:
                    fit.pending -= 1
                    last_item = fit.pending == 0
                if not last_item:
                    continue
                fit.end_stage()  # no other thread touches this fit until its next stage is opened
                if fit.stage < fit.n_estimators:
                    fit.begin_stage()
                with lock:
                    if fit.stage < fit.n_estimators:
                        fit.pending = fit.n_items
                        ready.extend((fit, i) for i in range(fit.n_items))
                    else:
                        running[0] -= 1
                    lock.notify_all()
        except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
            with lock:
                errors.append(error)
                lock.notify_all()

    threads = [threading.Thread(target=worker, name=f"dismetrics-boosting-{t}", daemon=True) for t in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
