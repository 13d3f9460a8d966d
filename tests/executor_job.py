"""A small comparison run through the seed loop, as a separate process (what tests/test_executors.py runs under
each executor): ``python tests/executor_job.py OUTPUT_DIR [N_RECIPES]``. Where it runs comes from
EMNIST_EXECUTOR, the threads per run from EMNIST_THREADS."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_chapters import toy_dataset  # noqa: E402

from emnist_lib import search  # noqa: E402
from emnist_lib.recipe import Change, Recipe, TrainConfig  # noqa: E402
from emnist_lib.study import run_recipes, start  # noqa: E402
from emnist_lib.training import cross_validate  # noqa: E402


def main(out: str, n_recipes: int = 2) -> None:
    study = start("01_chollet_baselines", out, 0)
    base = Recipe("dense", "chollet_dense", train=TrainConfig(epochs=3, batch_size=32, learning_rate=3e-3))
    recipes = [base] + [base.changed(f"lr{i}", Change(train={"learning_rate": 1e-3 / (i + 1)})) for i in range(n_recipes - 1)]
    ds = toy_dataset(n_per_class=60)
    runs = run_recipes(study, ds, recipes, [0, 1], "mnist", check_seeds=[1])
    print("runs:", len(list(runs)))
    table = cross_validate(recipes, ds.x_train, ds.y_train, ds.num_classes, k=2, seed=0)  # fold runs: same engine
    print("cv:", json.dumps({row["name"]: [row["folds"], row["statuses"]] for row in table.to_dict("records")}))
    # Search trials in batches of two: the same trials whatever trains them.
    x_tr, y_tr, x_val, y_val = ds.validation_split(0.2, seed=0)
    data = search.SearchData(x_tr, y_tr, x_val, y_val, ds.num_classes, ds.provenance)
    storage = search.open_storage(f"journal:{Path(out) / 'search.journal'}", Path(out), "job")
    search.run_batches("job", "mlp", data, 4, storage, search.Budget(epochs=2, batch_size=32), batch=2)
    trials = search.create_or_load("job", "mlp", storage).get_trials(deepcopy=False)
    print("search:", json.dumps([[t.number, t.state.name, t.params, t.value, t.intermediate_values] for t in trials]))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2)
