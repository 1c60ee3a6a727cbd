from __future__ import annotations

import pytest

from gitexp.core.search import (
    SweepOptions,
    grid_size,
    is_search,
    parse_dimension,
    parse_goal_flag,
    parse_search,
)
from gitexp.errors import UsageError


@pytest.mark.parametrize(
    ("spec", "text", "values"),
    [
        ("lr=loguniform(1e-4,1e-1)", "loguniform(0.0001,0.1)", ()),
        ("lr=uniform(0,1)", "uniform(0.0,1.0)", ()),
        ("n=int(1,4)", "int(1,4)", (1, 2, 3, 4)),
        ("n=intlog(1,1024)", "intlog(1,1024)", ()),
        ("n=range(0,10,3)", "range(0,12,3)", (0, 3, 6, 9)),
        ("n=range(3)", None, None),
        ("x=range(0.1,0.5,0.1)", "range(0.1,0.5,0.1)", (0.1, 0.2, 0.3, 0.4)),
        ("opt=choice(adam,sgd)", "choice(adam,sgd)", ("adam", "sgd")),
        ("c=choice('1',2,'a,b',true)", "choice('1',2,'a,b',true)", ("1", 2, "a,b", True)),
    ],
)
def test_each_kind_parses_and_reads_back_from_its_text(
    spec: str, text: str | None, values: tuple[object, ...] | None
) -> None:
    if text is None:
        with pytest.raises(UsageError):
            parse_search(spec)
        return
    key = parse_search(spec)
    assert key.dimension.text() == text
    assert parse_dimension(text) == key.dimension
    assert key.dimension.grid_values() == values


def test_range_excludes_its_end_as_python_does() -> None:
    assert parse_search("n=range(0,10)").dimension.grid_values() == tuple(range(10))
    assert parse_search("n=range(0,9,3)").dimension.grid_values() == (0, 3, 6)


def test_the_key_keeps_its_file_and_add_mark() -> None:
    key = parse_search("+conf.yaml:opt.lr=uniform(0,1)")
    assert (key.file, key.key, key.add, key.label) == (
        "conf.yaml",
        "opt.lr",
        True,
        "+conf.yaml:opt.lr",
    )
    override = key.override(0.5)
    assert (override.file, override.key, override.values, override.add) == (
        "conf.yaml",
        "opt.lr",
        (0.5,),
        True,
    )
    assert override.text == "+conf.yaml:opt.lr=0.5"


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("lr=logunifrom(1,2)", "unknown search space 'logunifrom'"),
        ("lr=uniform(2,1)", "needs lo < hi"),
        ("lr=loguniform(0,1)", "needs lo > 0"),
        ("lr=intlog(0,8)", "needs lo > 0"),
        ("n=int(1.5,3)", "needs whole numbers"),
        ("n=range(3,1)", "is empty"),
        ("n=range(0,3,0)", "is empty"),
        ("c=choice()", "has no values"),
        ("c=choice(a,a)", "lists a value twice"),
        ("lr=uniform(a,b)", "needs numbers lo,hi"),
        ("lr=uniform(0,1,2)", "needs numbers lo,hi"),
        ("lr=uniform(0,.inf)", "finite"),
        ("a.=uniform(0,1)", "empty key"),
    ],
)
def test_a_bad_space_is_a_usage_error_that_names_it(spec: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_search(spec)
    assert words in caught.value.message
    assert caught.value.exit_code == 2 and caught.value.hint


def test_only_calls_are_searches() -> None:
    assert is_search("lr=uniform(0,1)") and is_search("lr=typo(0,1)")
    assert not is_search("lr=0.1,0.2") and not is_search("name='f(x)'") and not is_search("x")


def test_goal_flag_and_options() -> None:
    assert parse_goal_flag("val.acc:max") == ("val.acc", "max")
    assert parse_goal_flag("metrics.json:loss:MIN") == ("metrics.json:loss", "min")
    assert parse_goal_flag("acc") == ("acc", None)
    with pytest.raises(UsageError):
        parse_goal_flag(":max")
    assert SweepOptions(trials=3).searching(["lr=0.1"])
    assert SweepOptions().searching(["lr=uniform(0,1)"])
    assert not SweepOptions().searching(["lr=0.1,0.2"])
    for bad in (SweepOptions(trials=0), SweepOptions(sampler="grid"), SweepOptions(prune="x")):
        with pytest.raises(UsageError):
            bad.check()


def test_grid_size_counts_finite_spaces_only() -> None:
    dims = [
        parse_search(s).dimension for s in ("a=choice(x,y,z)", "b=int(1,4)", "c=range(0,1,0.25)")
    ]
    assert grid_size(dims) == 3 * 4 * 4
    assert grid_size([*dims, parse_search("d=uniform(0,1)").dimension]) is None
    assert grid_size([]) == 1
