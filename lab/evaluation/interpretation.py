"""Evaluation as interpretation, from stored predictions, the way fastai's `ClassificationInterpretation` does.

A single accuracy hides what a model gets wrong. From a `Predictions` table this gives the classification
report (precision, recall, F1 and support per class, with macro and weighted averages), the confusion
matrix in counts and normalised by true class, ROC and precision-recall curves with their areas for two
classes, the top losses (the most confidently wrong images) and the most-confused pairs of classes.
The formulas are scikit-learn's, not ours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lab.evaluation.predictions import Predictions


class Interpretation:
    """Every view of one model on one evaluation set."""

    def __init__(self, predictions: Predictions) -> None:
        self.predictions = predictions
        self.classes = list(predictions.classes)
        self._labels = list(range(len(self.classes)))

    def confusion_matrix(self, *, normalize: bool = False) -> np.ndarray:
        """Rows are true classes, columns predicted, in `classes` order; normalised rows sum to 1."""
        from sklearn.metrics import confusion_matrix

        p = self.predictions
        return confusion_matrix(p.true, p.predicted, labels=self._labels, normalize="true" if normalize else None)

    def report(self) -> dict[str, Any]:
        """scikit-learn's classification report: class -> precision, recall, f1, support; and the averages."""
        from sklearn.metrics import classification_report

        p = self.predictions
        raw = classification_report(p.true, p.predicted, labels=self._labels, target_names=self.classes,
                                    output_dict=True, zero_division=0)
        rows = {name: _row(raw[name]) for name in self.classes}
        return {"per_class": rows, "macro_avg": _row(raw["macro avg"]), "weighted_avg": _row(raw["weighted avg"])}

    def curves(self) -> dict[str, Any] | None:
        """ROC and precision-recall curves for two classes, the second class counted as positive."""
        from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

        p = self.predictions
        if len(self.classes) != 2 or len(set(p.true.tolist())) < 2:
            return None
        positive, scores = p.true == 1, p.probabilities[:, 1]
        fpr, tpr, _ = roc_curve(positive, scores)
        precision, recall, _ = precision_recall_curve(positive, scores)
        return {
            "positive_class": self.classes[1],
            "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": float(roc_auc_score(positive, scores))},
            "pr": {"precision": precision.tolist(), "recall": recall.tolist(),
                   "average_precision": float(average_precision_score(positive, scores))},
        }

    def top_losses(self, k: int = 9) -> list[dict[str, Any]]:
        """The `k` images the model was most confidently wrong (or least confidently right) about."""
        p = self.predictions
        losses, predicted = p.losses, p.predicted
        order = np.argsort(-losses, kind="stable")[:k]
        return [{"path": p.paths[i], "digest": p.digests[i], "true": self.classes[p.true[i]],
                 "predicted": self.classes[predicted[i]], "probability": float(p.probabilities[i, predicted[i]]),
                 "loss": float(losses[i])} for i in order]

    def most_confused(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """(true, predicted, count) for each pair of different classes, the most frequent first."""
        counts = self.confusion_matrix()
        pairs = [(self.classes[t], self.classes[q], int(counts[t, q]))
                 for t in self._labels for q in self._labels if t != q and counts[t, q] >= min_count]
        return sorted(pairs, key=lambda pair: -pair[2])

    def views(self, top: int = 12) -> dict[str, Any]:
        """Every view as plain data (lists, not arrays), for a page to cache and draw: accuracy, n, classes,
        the report, the confusion matrix in counts and normalised, the curves, the `top` losses and the
        most-confused pairs."""
        return {"accuracy": self.predictions.accuracy, "n": len(self.predictions), "classes": self.classes,
                "report": self.report(), "counts": self.confusion_matrix().tolist(),
                "normalized": self.confusion_matrix(normalize=True).tolist(), "curves": self.curves(),
                "top_losses": self.top_losses(top), "most_confused": self.most_confused()}

    def summary(self) -> dict[str, Any]:
        """The JSON the CLI prints and runs store: accuracy, n, classes, per_class, confusion matrix, curves' areas."""
        report = self.report()
        curves = self.curves()
        return {
            "accuracy": self.predictions.accuracy,
            "n": len(self.predictions),
            "classes": self.classes,
            **report,
            "confusion_matrix": self.confusion_matrix().tolist(),
            "roc_auc": curves["roc"]["auc"] if curves else None,
            "average_precision": curves["pr"]["average_precision"] if curves else None,
            "most_confused": [list(pair) for pair in self.most_confused()],
        }


def _row(values: dict[str, float]) -> dict[str, float | int]:
    return {"precision": float(values["precision"]), "recall": float(values["recall"]),
            "f1": float(values["f1-score"]), "support": int(values["support"])}
