import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from emnist_lib.evaluation import metrics_from_proba, misclassified, most_confused, top_predictions

NAMES = ["(unused)", "A/a", "B/b", "C/c"]
Y = np.array([1, 1, 2, 2, 3, 3, 3, 1])
P = np.array([[0, .7, .2, .1], [0, .2, .7, .1], [0, .1, .8, .1], [0, .1, .8, .1],
              [0, .1, .1, .8], [0, .6, .1, .3], [0, .05, .15, .8], [0, .9, .05, .05]])


def test_metrics_agree_with_scikit_learn():
    m = metrics_from_proba(P, Y, NAMES, top_k=2)
    pred = P.argmax(1)
    assert m["accuracy"] == pytest.approx(accuracy_score(Y, pred))
    assert m["f1_macro"] == pytest.approx(f1_score(Y, pred, average="macro"))
    assert m["precision_weighted"] == pytest.approx(precision_score(Y, pred, average="weighted"))
    assert m["recall_macro"] == pytest.approx(recall_score(Y, pred, average="macro"))
    assert m["loss"] == pytest.approx(-np.mean(np.log(P[np.arange(8), Y])))


def test_unused_letters_label_is_left_out_of_the_confusion_matrix():
    m = metrics_from_proba(P, Y, NAMES)
    assert m["confusion_labels"] == [1, 2, 3]
    assert m["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 2]]
    assert set(m["per_class"]) >= {"A/a", "B/b", "C/c", "macro avg"}


def test_top_k_accuracy():
    assert metrics_from_proba(P, Y, NAMES, top_k=2)["top_k_accuracy"] == pytest.approx(1.0)


def test_most_confused_pairs_with_examples():
    pairs = most_confused(Y, P.argmax(1), NAMES)
    assert {(p["true"], p["predicted"]) for p in pairs} == {("A/a", "B/b"), ("C/c", "A/a")}
    assert pairs[0]["count"] == 1 and pairs[0]["examples"]


def test_misclassified_most_confident_first():
    assert misclassified(Y, P, n=5).tolist() == [1, 5]


def test_top_predictions_names_and_order():
    top = top_predictions(P[:1], NAMES, n=3)
    assert [t[0] for t in top[0]] == ["A/a", "B/b", "C/c"]
    assert top[0][0][1] == pytest.approx(0.7)
