"""A search's Optuna study, made on the driver from its plan: sampler, pruner, past trials.

Only the driver imports Optuna (``gitexp[sweep]``), and only once a search starts;
trials never do. A resumed study is told every past trial, as it ended, so the
sampler and pruner pick up where the killed or finished driver left off.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING

from gitexp.errors import GitexpError
from gitexp.experiments.run.sweepplan import SweepPlan
from gitexp.experiments.run.sweepspace import Codec

if TYPE_CHECKING:
    import optuna


def _optuna() -> object:
    try:
        import optuna
    except ImportError as exc:
        raise GitexpError(
            "searching needs Optuna, which is not installed",
            hint="pip install 'gitexp[sweep]'",
        ) from exc
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def build_study(plan: SweepPlan) -> optuna.Study:
    """A new in-memory study with the plan's sampler and pruner, its past trials told."""
    _optuna()
    import optuna

    sampler: optuna.samplers.BaseSampler
    # A resumed study must not draw the first trials' points again: its seed moves on.
    seed = None if plan.seed is None else (plan.seed * 1_000_003 + len(plan.past)) % 2**32
    if plan.sampler == "random":
        sampler = optuna.samplers.RandomSampler(seed=seed)
    else:
        sampler = _tpe(seed, plan.trials)
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if plan.prune == "median":
        pruner = optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    elif plan.prune == "hyperband":
        pruner = optuna.pruners.HyperbandPruner()
    direction = optuna.study.StudyDirection.MAXIMIZE
    if plan.direction == "min":
        direction = optuna.study.StudyDirection.MINIMIZE
    study = optuna.create_study(direction=direction, sampler=sampler, pruner=pruner)
    _replay(study, plan)
    return study


def startup_trials(trials: int) -> int:
    """How many random trials TPE draws before it models: a fifth of the budget, 4 to 10.

    Optuna's default of 10 spends a third of a 30-trial budget on random points; too
    few, and the model fits noise. A fifth keeps both sides of that trade.
    """
    return max(4, min(10, trials // 5))


def _tpe(seed: int | None, trials: int) -> optuna.samplers.BaseSampler:
    """TPE that models the keys jointly and, with ``-j``, lies about running trials.

    ``multivariate`` lets it learn that two keys matter together (a learning rate
    and a penalty); ``constant_liar`` keeps parallel asks from drawing one point.
    Both are defaults from Optuna 4 on, and experimental (warned) before it.
    """
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=startup_trials(trials),
            multivariate=True,
            constant_liar=True,
        )


def _replay(study: optuna.Study, plan: SweepPlan) -> None:
    """Tell the study every past trial, as it ended; one that no longer fits is skipped."""
    import optuna
    from optuna.trial import TrialState, create_trial

    codecs = {k.label: Codec(k.dimension) for k in plan.keys}
    dists = {label: codec.distribution() for label, codec in codecs.items()}
    for past in plan.past:
        try:
            params = {
                label: codecs[label].encode(v) for label, v in past.values.items() if label in dists
            }
        except ValueError:
            continue  # a value the space no longer has
        state, value = TrialState.FAIL, None
        if past.status == "success" and past.value is not None:
            state, value = TrialState.COMPLETE, past.value
        elif past.status == "pruned":
            state = TrialState.PRUNED
        steps = {int(step): value for step, value in past.steps}
        with contextlib.suppress(ValueError, optuna.exceptions.OptunaError):
            trial = create_trial(
                params=params,
                distributions={k: dists[k] for k in params},
                value=value,
                state=state,
                intermediate_values=steps,
            )
            study.add_trial(trial)


def trial_state(name: str) -> optuna.trial.TrialState:
    """Optuna's trial state of that name (``FAIL``, ``PRUNED``…), imported late."""
    from optuna.trial import TrialState

    return TrialState[name]
