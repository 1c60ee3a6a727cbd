"""Train a small neural network on the digits data (data/digits.csv, see prepare.py).

Run it with `gitexp run`: the params come from params.yaml (with any -S overrides),
the loss and accuracy of every epoch become step series, the final scores land in
metrics.json, and the model is kept in gitexp's cache as an artifact.
"""

import pickle
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import gitexp

params = gitexp.params()
model_p, train_p, data_p = params["model"], params["train"], params["data"]

table = np.loadtxt("data/digits.csv", delimiter=",", skiprows=1)
x, y = table[:, :-1] / 16.0, table[:, -1].astype(int)
x_train, x_test, y_train, y_test = train_test_split(
    x, y, test_size=data_p["test_size"], random_state=data_p["seed"]
)

model = MLPClassifier(
    hidden_layer_sizes=(model_p["hidden"],),
    alpha=model_p["alpha"],
    learning_rate_init=train_p["lr"],
    batch_size=train_p["batch_size"],
    max_iter=1,
    random_state=data_p["seed"],
)
classes = sorted(set(y))
for epoch in range(train_p["epochs"]):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(x_train, y_train, classes=classes)
    train_acc = model.score(x_train, y_train)
    test_acc = model.score(x_test, y_test)
    gitexp.log_metrics(
        {"loss": model.loss_, "train_acc": train_acc, "test_acc": test_acc}, step=epoch
    )
    print(f"epoch {epoch:2d}  loss {model.loss_:.4f}  test accuracy {test_acc:.3f}")
    if gitexp.should_prune():  # a search with --prune found this trial lagging: stop here
        break

gitexp.log_metric("acc", test_acc)
with open("model.pkl", "wb") as handle:
    pickle.dump(model, handle)
print(f"final test accuracy: {test_acc:.3f}")
