"""Evaluation with class names: metrics from scikit-learn, confusions, top-N predictions."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)


def predict_proba(model, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)


def used_labels(class_names: list[str], *label_arrays: np.ndarray) -> list[int]:
    """Labels that name a class (letters' unused 0 left out unless something predicted it)."""
    used = {i for i, n in enumerate(class_names) if n != "(unused)"}
    for arr in label_arrays:
        used |= set(np.unique(arr).tolist())
    return sorted(used)


def metrics_from_proba(proba: np.ndarray, y: np.ndarray, class_names: list[str], top_k: int = 5) -> dict:
    """Accuracy, loss, top-k, macro/weighted P/R/F1, per-class report and confusion matrix."""
    y = np.asarray(y)
    pred = proba.argmax(1)
    labels = used_labels(class_names, y, pred)
    eps = 1e-12
    loss = float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], eps, 1.0))))
    out = {"n": int(len(y)), "accuracy": float(accuracy_score(y, pred)), "loss": loss,
           "top_k": top_k,
           "top_k_accuracy": float(top_k_accuracy_score(y, proba, k=top_k, labels=np.arange(proba.shape[1])))}
    for avg in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y, pred, labels=labels, average=avg, zero_division=0)
        out.update({f"precision_{avg}": float(p), f"recall_{avg}": float(r), f"f1_{avg}": float(f)})
    names = [class_names[i] for i in labels]
    out["per_class"] = classification_report(y, pred, labels=labels, target_names=names, output_dict=True,
                                             zero_division=0)
    out["confusion_labels"] = labels
    out["confusion"] = confusion_matrix(y, pred, labels=labels).tolist()
    return out


def evaluate(model, x: np.ndarray, y: np.ndarray, class_names: list[str], top_k: int = 5) -> dict:
    """All metrics of :func:`metrics_from_proba` for a Keras model on ``(x, y)``."""
    return metrics_from_proba(predict_proba(model, x), y, class_names, top_k)


def most_confused(y: np.ndarray, pred: np.ndarray, class_names: list[str], n: int = 10,
                  examples: int = 3) -> list[dict]:
    """The ``n`` (true, predicted) pairs confused most often, with example indices."""
    y, pred = np.asarray(y), np.asarray(pred)
    wrong = np.flatnonzero(y != pred)
    pairs: dict[tuple[int, int], list[int]] = {}
    for i in wrong:
        pairs.setdefault((int(y[i]), int(pred[i])), []).append(int(i))
    ranked = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:n]
    return [{"true": class_names[t], "predicted": class_names[p], "count": len(idx),
             "true_label": t, "predicted_label": p, "examples": idx[:examples]} for (t, p), idx in ranked]


def misclassified(y: np.ndarray, proba: np.ndarray, n: int = 16) -> np.ndarray:
    """Indices of the ``n`` most confidently wrong predictions."""
    pred = proba.argmax(1)
    wrong = np.flatnonzero(pred != np.asarray(y))
    order = np.argsort(-proba[wrong, pred[wrong]], kind="stable")
    return wrong[order[:n]]


def top_predictions(proba: np.ndarray, class_names: list[str], n: int = 6) -> list[list[tuple[str, float]]]:
    """For each row of ``proba``, the ``n`` most likely classes with their probabilities."""
    order = np.argsort(-proba, axis=1, kind="stable")[:, :n]
    return [[(class_names[j], float(row[j])) for j in idx] for row, idx in zip(proba, order)]
