"""Goals: which way a metric is better, from --goal, gitexp.yaml or the metric's name."""

from __future__ import annotations

import pytest

from gitexp.core.config import parse_project_config
from gitexp.core.goals import goal_by_name, parse_goals, resolve_goal
from gitexp.errors import ConfigError, GoalError


@pytest.mark.parametrize(
    ("key", "direction"),
    [
        ("acc", "max"),
        ("accuracy", "max"),
        ("auc", "max"),
        ("roc_auc", "max"),
        ("f1", "max"),
        ("precision", "max"),
        ("recall", "max"),
        ("r2", "max"),
        ("map", "max"),
        ("ndcg", "max"),
        ("bleu", "max"),
        ("rouge", "max"),
        ("rouge1", "max"),
        ("rougeL", "max"),
        ("rouge_lsum", "max"),
        ("iou", "max"),
        ("dice", "max"),
        ("score", "max"),
        ("reward", "max"),
        ("loss", "min"),
        ("val_loss", "min"),
        ("train_loss", "min"),
        ("error", "min"),
        ("err", "min"),
        ("mse", "min"),
        ("mae", "min"),
        ("rmse", "min"),
        ("mape", "min"),
        ("perplexity", "min"),
        ("wer", "min"),
        ("cer", "min"),
        ("latency", "min"),
        # the last dotted part decides, whatever the case
        ("val.acc", "max"),
        ("eval.Accuracy", "max"),
        ("test.F1", "max"),
        ("train.LOSS", "min"),
        ("metrics.json:val.loss", "min"),
        ("val/acc", "max"),
        ("acc.count", None),
        # names that say nothing, or only look alike
        ("lr", None),
        ("epochs", None),
        ("val_acc", None),
        ("loss_scale", None),
        ("accuracy_drop", None),
        ("mapping", None),
        ("scores", None),
        ("", None),
    ],
)
def test_the_last_dotted_part_names_the_goal(key: str, direction: str | None) -> None:
    assert goal_by_name(key) == direction


def test_a_given_goal_wins_over_gitexp_yaml_and_the_name() -> None:
    goal = resolve_goal("acc", {"acc": "min"}, "max")
    assert (goal.direction, goal.source) == ("max", "--goal")


def test_gitexp_yaml_wins_over_the_name() -> None:
    goal = resolve_goal("loss", {"loss": "max"})
    assert (goal.direction, goal.source) == ("max", "gitexp.yaml")
    goal = resolve_goal("metrics.json:loss", {"loss": "max"})
    assert (goal.direction, goal.source) == ("max", "gitexp.yaml")


def test_the_name_decides_last() -> None:
    goal = resolve_goal("val.accuracy", {"other": "min"})
    assert (goal.direction, goal.source, goal.descending) == ("max", "name", True)


def test_an_unknown_goal_refuses_and_says_how_to_declare_one() -> None:
    with pytest.raises(GoalError) as info:
        resolve_goal("throughput", {})
    assert info.value.exit_code == 1
    assert "throughput" in info.value.message
    assert info.value.hint is not None
    assert "goals: {throughput: max}" in info.value.hint and "--goal" in info.value.hint


def test_gitexp_yaml_goals_parse() -> None:
    config = parse_project_config(b"goals: {acc: max, train.loss: MIN}\n")
    assert dict(config.goals) == {"acc": "max", "train.loss": "min"}
    assert dict(parse_project_config(b"metrics: [m.json]\n").goals) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"goals: {acc: up}\n", "'goals.acc' in gitexp.yaml is 'up'; it must be max or min"),
        (b"goals: {acc: 1}\n", "'goals.acc' in gitexp.yaml is 1; it must be max or min"),
        (b"goals: {acc: }\n", "'goals.acc' in gitexp.yaml is None; it must be max or min"),
        (b"goals: [acc]\n", "'goals' in gitexp.yaml must be a mapping"),
    ],
)
def test_a_bad_goal_is_a_config_error_naming_the_key(text: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_project_config(text)
    assert info.value.message.startswith(message)
    assert info.value.hint is not None and "max" in info.value.hint


def test_parse_goals_accepts_nothing() -> None:
    assert parse_goals(None, "gitexp.yaml") == {}
