from __future__ import annotations

import random

import pytest

from gitexp.core.config import parse_local_config, parse_project_config
from gitexp.core.filters import parse_filter, sort_key
from gitexp.core.formats import flatten, load_mapping
from gitexp.core.metrics import load_metrics, parse_series
from gitexp.core.names import check_name, generate_name, sweep_names
from gitexp.core.sizes import parse_size
from gitexp.errors import ConfigError, FormatError, InvalidNameError, UsageError


def test_yaml_reads_as_yaml_1_2() -> None:
    doc = load_mapping(b"lr: 1e-3\nflag: yes\non: off\noct: 0o17\n", "p.yaml")
    assert doc == {"lr": 0.001, "flag": "yes", "on": "off", "oct": 15}


def test_flatten_dots_nested_keys() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": [1]}}, "e": {}}) == {"a.b": 1, "a.c.d": [1], "e": {}}


def test_metrics_must_be_a_mapping() -> None:
    assert load_metrics(b'{"acc": 0.9, "train": {"loss": 1}}', "m.json") == {
        "acc": 0.9,
        "train.loss": 1,
    }
    with pytest.raises(FormatError, match="must hold a mapping"):
        load_metrics(b"[1, 2]", "m.json")


def test_series_parse_tsv_csv_jsonl() -> None:
    s = parse_series(b"step\tvalue\n0\t1.5\n1\t1.0\n", "loss.tsv")
    assert s.steps == [0.0, 1.0] and s.columns == {"value": [1.5, 1.0]}
    s = parse_series(b"loss,acc\n1,0.5\n0.5,0.7\n", "m.csv")
    assert s.steps == [0.0, 1.0] and s.columns["acc"] == [0.5, 0.7]
    s = parse_series(b'{"epoch": 3, "loss": 2}\n\n{"epoch": 4, "loss": 1}\n', "m.jsonl")
    assert s.steps == [3.0, 4.0] and s.columns == {"loss": [2.0, 1.0]}


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        (b"step\tvalue\n", "a.tsv", "no rows"),
        (b"step\tvalue\n0\tabc\n", "a.tsv", "not a number"),
        (b"step\n0\n", "a.tsv", "no value column"),
        (b"[1]\n", "a.jsonl", "not a JSON object"),
        (b"x", "a.txt", "not a series file"),
    ],
)
def test_bad_series_are_format_errors(data: bytes, path: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_series(data, path)


def test_filters_parse_and_match() -> None:
    f = parse_filter("acc>0.9")
    assert f.matches(0.95) and not f.matches(0.9) and not f.matches("high")
    f = parse_filter("train.lr <= 1e-2")
    assert f.key == "train.lr" and f.matches(0.001)
    assert parse_filter("status==failed").matches("failed")
    assert parse_filter("status!=failed").matches("success")
    assert parse_filter("n!=3").matches("three")
    for bad in ["acc", "acc>", ">1", "acc=1"]:
        with pytest.raises(UsageError):
            parse_filter(bad)


def test_sort_key_orders_numbers_then_strings_then_missing() -> None:
    values = [None, "b", 2, "a", 1.5, True]
    assert sorted(values, key=sort_key) == [True, 1.5, 2, "a", "b", None]


@pytest.mark.parametrize("name", ["a", "lr-0.01", "A_b.c-1", "x" * 100])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "-a", ".a", "a..b", "a.lock", "a.", "a/b", "a b", "x" * 101, "é"]
)
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidNameError):
        check_name(name)


def test_generated_names_are_readable_and_free() -> None:
    taken = {"bold-lynx"}
    name = generate_name(lambda n: n in taken, random.Random(1))
    assert name not in taken and check_name(name) and name.count("-") >= 1
    assert sweep_names("lr", 3) == ["lr-1", "lr-2", "lr-3"]


def test_project_config_defaults_and_errors() -> None:
    config = parse_project_config(b"")
    assert config.params == ("params.yaml",) and config.metrics == ("metrics.json",)
    assert config.large_file_threshold == 5 * 1024 * 1024
    config = parse_project_config(b"params: [a.yaml, b.json]\nlarge_file_threshold: 1KB\n")
    assert config.params == ("a.yaml", "b.json") and config.large_file_threshold == 1000
    with pytest.raises(ConfigError, match="unknown key 'parms'"):
        parse_project_config(b"parms: [a.yaml]\n")
    with pytest.raises(ConfigError, match="not a size"):
        parse_project_config(b"large_file_threshold: big\n")
    with pytest.raises(ConfigError, match="link"):
        parse_local_config(b"link: teleport\n", "config.yaml")


def test_sizes() -> None:
    assert parse_size("5MiB") == 5 * 1024 * 1024
    assert parse_size("1.5 kb") == 1500
    assert parse_size(10) == 10
