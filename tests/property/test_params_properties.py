"""Params and metrics survive a round trip; parsers raise nothing but FormatError."""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitexp.core.formats import load_document, load_mapping
from gitexp.core.metrics import parse_series
from gitexp.core.params import apply_overrides, parse_override
from gitexp.errors import FormatError, ParamsError

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")

keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
scalars = st.one_of(
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
)
trees = st.recursive(
    st.dictionaries(keys, scalars, min_size=1, max_size=4),
    lambda children: st.dictionaries(keys, st.one_of(scalars, children), min_size=1, max_size=4),
    max_leaves=12,
)


def dump_yaml(tree: dict[str, object]) -> bytes:
    from ruamel.yaml import YAML

    out = io.StringIO()
    YAML(typ="rt").dump(tree, out)
    return out.getvalue().encode()


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


@given(trees)
def test_yaml_written_by_ruamel_reads_back_the_same(tree: dict[str, object]) -> None:
    assert same(load_mapping(dump_yaml(tree), "p.yaml"), tree)


@given(trees, st.data())
def test_an_override_changes_exactly_its_key(tree: dict[str, object], data: st.DataObject) -> None:
    leaves = [k for k, v in tree.items() if not isinstance(v, dict)]
    if not leaves:
        return
    key = data.draw(st.sampled_from(leaves))
    value = data.draw(scalars)
    for path, original in (
        ("p.yaml", dump_yaml(tree)),
        ("p.json", json.dumps(tree, indent=2).encode()),
    ):
        out = load_mapping(apply_overrides(original, path, {key: (value, False)}), path)
        assert same(out[key], value)
        assert all(same(out[k], tree[k]) for k in tree if k != key)


@given(scalars)
def test_override_values_read_back_as_written(value: object) -> None:
    from gitexp.core.params import format_value

    text = json.dumps(value) if isinstance(value, str) else format_value(value)
    try:
        parsed = parse_override(f"k={text}")
    except ParamsError:
        pytest.skip("value needs quoting")
    assert len(parsed.values) == 1
    assert same(parsed.values[0], value) or (isinstance(value, float) and parsed.values[0] == value)


@given(st.binary(max_size=200), st.sampled_from(["a.yaml", "a.json", "a.toml"]))
def test_document_parsers_raise_only_format_error(data: bytes, path: str) -> None:
    with contextlib.suppress(FormatError):
        load_document(data, path)


@given(st.binary(max_size=200), st.sampled_from(["s.tsv", "s.csv", "s.jsonl"]))
def test_series_parser_raises_only_format_error(data: bytes, path: str) -> None:
    with contextlib.suppress(FormatError):
        parse_series(data, path)


@given(st.text(max_size=40))
def test_override_parser_raises_only_params_error(text: str) -> None:
    with contextlib.suppress(ParamsError):
        parse_override(text)
