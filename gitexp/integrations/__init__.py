"""Framework callbacks: a line or two of training code records a whole experiment.

One module per framework, each importing its framework only when it is imported
itself (``import gitexp`` never does), and failing with `MissingExtraError`, which
names the extra to install, when the framework is absent:

- ``gitexp.integrations.keras``: ``GitexpCallback``, a Keras 3 callback;
- ``gitexp.integrations.lightning``: ``GitexpLogger``, a Lightning logger (and callback);
- ``gitexp.integrations.transformers``: ``GitexpCallback``, a ``TrainerCallback``;
- ``gitexp.integrations.xgboost``: ``GitexpCallback``, a ``TrainingCallback``;
- ``gitexp.integrations.lightgbm``: ``gitexp_callback()``, a LightGBM callback.

Each records the params the framework shows (optimizer, learning rate, batch size,
epochs, model hyperparameters) through ``gitexp.log_params``, the metrics of each step
or epoch as series, the last values as metrics, and the final model or checkpoint as
an out. Under ``gitexp run`` or inside ``with gitexp.Experiment():`` they record into
that experiment; elsewhere they start an experiment of their own when training starts
and record it when training ends. In a sweep they stop training as soon as
``gitexp.should_prune()`` says so.
"""
