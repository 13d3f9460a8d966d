"""Published test accuracies on EMNIST (literature, not results of this project): landmarks that show where the
study's numbers sit. They come from the official train/test partition, other test images and their own protocols, so
the report quotes them beside its results and never tests against them."""

from __future__ import annotations

# By split: the official training images per class each used (balanced 2,400, letters 4,800) or a subset of them.
FIELD = {
    "balanced": ({"label": "Cohen et al. 2017, OPIUM linear classifier, full set", "per_class": 2400,
                  "accuracy": 0.7802},
                 {"label": "TextCaps (Jayasundara et al. 2019), 200 per class", "per_class": 200, "accuracy": 0.8782},
                 {"label": "TextCaps (Jayasundara et al. 2019), full set", "per_class": 2400, "accuracy": 0.9046}),
    "letters": ({"label": "Cohen et al. 2017, OPIUM linear classifier, full set", "per_class": 4800,
                 "accuracy": 0.8515},
                {"label": "TextCaps (Jayasundara et al. 2019), 200 per class", "per_class": 200, "accuracy": 0.9279},
                {"label": "TextCaps (Jayasundara et al. 2019), full set", "per_class": 4800, "accuracy": 0.9536}),
}


def field_for(runs: list, split: str) -> tuple[dict, ...]:
    """The published accuracies that apply to ``runs`` (result records): those of ``split`` when every run trained
    on real EMNIST of that split; none for synthetic data or another split."""
    return FIELD.get(split, ()) if runs and all(r.data.split == split and not r.synthetic for r in runs) else ()
