"""Pure values of the lifecycle commands: model refs and records, tolerances and drift."""

from __future__ import annotations

import math

import pytest

from gitexp.core.drift import (
    Tolerance,
    compare_metrics,
    environment_changes,
    metric_drift,
    parse_tolerance,
)
from gitexp.core.modelrefs import (
    ModelSpec,
    VersionRecord,
    alias_ref,
    check_model_name,
    parse_message,
    parse_spec,
    split_alias_ref,
    split_tag_ref,
    tag_ref,
)
from gitexp.errors import FormatError, InvalidNameError, UsageError


def test_specs_name_a_version_an_alias_or_the_latest() -> None:
    assert parse_spec("clf") == ModelSpec("clf")
    assert parse_spec("clf@v3") == ModelSpec("clf", version=3)
    assert parse_spec("clf@3") == ModelSpec("clf", version=3)
    assert parse_spec("clf:prod") == ModelSpec("clf", alias="prod")
    for bad in ("clf@x", "clf@v0", "clf@"):
        with pytest.raises(UsageError):
            parse_spec(bad)
    for bad in ("a..b", "-x", "clf:v2", "clf:", "x.lock"):
        with pytest.raises(InvalidNameError):
            parse_spec(bad)
    with pytest.raises(InvalidNameError):
        check_model_name("v2", "alias")


def test_refs_split_back_into_their_parts() -> None:
    assert split_tag_ref(tag_ref("clf", 12)) == ("clf", 12)
    assert split_alias_ref(alias_ref("clf", "prod")) == ("clf", "prod")
    assert split_tag_ref("refs/tags/model/clf/latest") is None
    assert split_tag_ref("refs/tags/v1") is None
    assert split_alias_ref("refs/models/clf") is None


def test_a_version_record_round_trips_through_its_tag_message() -> None:
    record = VersionRecord(
        "clf",
        2,
        "lr-3",
        "a" * 40,
        "model.pkl",
        "blake3:" + "b" * 64,
        10,
        metrics={"metrics.json": {"acc": 0.9}},
    )
    message = record.message()
    assert message.startswith("model clf v2: model.pkl from experiment 'lr-3'\n\n")
    assert parse_message(message, "t") == record
    with pytest.raises(FormatError, match="version 7"):
        parse_message(message.replace('"version": 1', '"version": 7'), "t")
    with pytest.raises(FormatError):
        parse_message("just a tag", "t")


def test_tolerances_are_absolute_or_relative() -> None:
    assert parse_tolerance(None) == Tolerance()
    assert parse_tolerance("0.01") == Tolerance(0.01)
    assert parse_tolerance("2%") == Tolerance(0.02, relative=True)
    assert parse_tolerance("2%").describe() == "2%" and Tolerance().describe() == "exact"
    for bad in ("-1", "x", "nan", "inf%"):
        with pytest.raises(UsageError):
            parse_tolerance(bad)
    assert metric_drift("acc", 0.5, 0.5, Tolerance()).within
    assert not metric_drift("acc", 0.5, 0.51, Tolerance()).within
    assert metric_drift("acc", 0.5, 0.51, Tolerance(0.02)).within
    assert metric_drift("acc", 100.0, 101.0, Tolerance(0.01, relative=True)).within
    assert not metric_drift("acc", 100.0, 102.0, Tolerance(0.01, relative=True)).within
    zero = metric_drift("n", 0, 1, Tolerance(0.5, relative=True))
    assert not zero.within and zero.rel_diff is None and zero.abs_diff == 1
    assert not metric_drift("acc", 0.5, None, Tolerance(1)).within
    assert metric_drift("tag", "a", "a", Tolerance()).within


def test_every_metric_of_either_run_is_compared() -> None:
    drifts = compare_metrics(
        {"m.json": {"acc": 1, "nested": {"f1": 0.5}}},
        {"m.json": {"acc": 1, "nested": {"f1": 0.4}, "new": 2}},
        Tolerance(),
    )
    assert [(d.key, d.within) for d in drifts] == [
        ("acc", True),
        ("nested.f1", False),
        ("new", False),
    ]
    assert math.isclose(drifts[1].abs_diff or 0, 0.1)


def test_environment_changes_name_both_versions() -> None:
    old = {"python": "3.11.7", "platform": "Linux", "host": "a", "packages": {"x": "1", "y": "2"}}
    new = {"python": "3.12.1", "platform": "Linux", "host": "a", "packages": {"x": "2", "z": "1"}}
    described = [c.describe() for c in environment_changes(old, new)]
    assert described == ["python 3.11.7 -> 3.12.1", "x 1 -> 2", "y 2 -> (none)", "z (none) -> 1"]
