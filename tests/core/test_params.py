from __future__ import annotations

import pytest

from gitexp.core.formats import load_mapping
from gitexp.core.params import apply_overrides, grid, parse_override
from gitexp.errors import FormatError, ParamsError

YAML = b"""\
# training params
train:
  lr: 0.001   # learning rate
  name: 'baseline'
  layers:
    - 64
    - 64
seed: 42  # fixed

# trailing comment
"""


def test_parse_override_types_values_as_yaml() -> None:
    assert parse_override("lr=1e-3").values == (0.001,)
    assert parse_override("flag=true").values == (True,)
    assert parse_override("flag=yes").values == ("yes",)
    assert parse_override("name=abc").values == ("abc",)
    assert parse_override("layers=[64,64]").values == ([64, 64],)
    assert parse_override("opt={a: 1}").values == ({"a": 1},)
    assert parse_override("nothing=null").values == (None,)


def test_parse_override_commas_make_a_sweep_brackets_and_quotes_protect() -> None:
    assert parse_override("lr=0.1,0.01").values == (0.1, 0.01)
    assert parse_override("layers=[64,64],[128]").values == ([64, 64], [128])
    assert parse_override("tag='a,b'").values == ("a,b",)


def test_parse_override_file_and_add_prefixes() -> None:
    o = parse_override("+params.yaml:train.wd=0.1")
    assert (o.file, o.key, o.add) == ("params.yaml", "train.wd", True)
    o = parse_override("other.json:+x=1")
    assert (o.file, o.key, o.add) == ("other.json", "x", True)
    o = parse_override("train.lr=2")
    assert (o.file, o.key, o.add) == (None, "train.lr", False)


@pytest.mark.parametrize("spec", ["lr", "=1", "lr=", "a..b=1", "lr=[1,", "lr={a"])
def test_parse_override_rejects_malformed(spec: str) -> None:
    with pytest.raises(ParamsError):
        parse_override(spec)


def test_grid_is_the_cartesian_product_in_order() -> None:
    points = grid([parse_override("a=1,2"), parse_override("b=x,y")])
    assert [[o.value for o in p] for p in points] == [[1, "x"], [1, "y"], [2, "x"], [2, "y"]]
    assert grid([]) == [()]


def test_yaml_override_keeps_comments_order_and_quotes() -> None:
    out = apply_overrides(YAML, "params.yaml", {"train.lr": (0.01, False)})
    assert out == YAML.replace(b"lr: 0.001   #", b"lr: 0.01    #")
    out = apply_overrides(YAML, "params.yaml", {"train.name": ("tuned", False)})
    assert b"name: 'tuned'" in out
    out = apply_overrides(YAML, "params.yaml", {"train.layers.1": (128, False)})
    assert out == YAML.replace(b"    - 64\nseed", b"    - 128\nseed")


def test_yaml_untouched_round_trip_is_byte_exact() -> None:
    for text in [YAML, b"a:\n    b: 1\n    l:\n    - 1\n", b"x: [1, 2]  # flow\ny: {a: 1}\n"]:
        assert apply_overrides(text, "p.yaml", {}) == text


def test_yaml_add_creates_nested_keys() -> None:
    out = apply_overrides(YAML, "params.yaml", {"optim.beta": (0.9, True)})
    assert out.startswith(YAML.rstrip(b"\n").split(b"\n# trailing")[0])
    assert b"optim:\n  beta: 0.9\n" in out


def test_unknown_key_and_add_of_existing_key_are_errors() -> None:
    with pytest.raises(ParamsError, match="key 'train.lrr' does not exist in 'params.yaml'"):
        apply_overrides(YAML, "params.yaml", {"train.lrr": (1, False)})
    with pytest.raises(ParamsError, match="already exists"):
        apply_overrides(YAML, "params.yaml", {"seed": (1, True)})
    with pytest.raises(ParamsError):
        apply_overrides(YAML, "params.yaml", {"seed.inner": (1, False)})


def test_json_override_keeps_order_and_indent() -> None:
    data = b'{\n    "b": 1,\n    "a": {"x": 2}\n}\n'
    out = apply_overrides(data, "p.json", {"a.x": (3, False)})
    assert out == b'{\n    "b": 1,\n    "a": {\n        "x": 3\n    }\n}\n'


def test_toml_override_keeps_comments() -> None:
    data = b"# top\n[train]\nlr = 0.1 # the rate\nepochs = 3\n"
    out = apply_overrides(data, "p.toml", {"train.lr": (0.02, False)})
    assert out == b"# top\n[train]\nlr = 0.02 # the rate\nepochs = 3\n"


@pytest.mark.parametrize(
    ("path", "data"),
    [("p.yaml", b"a: [1,\n"), ("p.json", b"{"), ("p.toml", b"a = "), ("p.yaml", b"- 1\n- 2\n")],
)
def test_invalid_params_files_raise_format_error_naming_the_file(path: str, data: bytes) -> None:
    with pytest.raises(FormatError, match=path):
        apply_overrides(data, path, {"a": (1, False)})


def test_yaml_override_leaves_every_other_byte_alone() -> None:
    text = b'a: 2.678039279785672e-25\nb: 0   # keep\nc: [1, 2]  # flow\nd: "x"\ne: 1e-3\n'
    out = apply_overrides(text, "p.yaml", {"b": (5, False)})
    assert out == text.replace(b"b: 0   #", b"b: 5   #")
    out = apply_overrides(text, "p.yaml", {"c": ([3], False), "d": ("y", False)})
    assert out == text.replace(b"[1, 2]  #", b"[3]     #").replace(b'"x"', b'"y"')


def test_yaml_override_quotes_strings_that_need_it() -> None:
    out = apply_overrides(b"name: base\n", "p.yaml", {"name": ("yes", False)})
    assert out == b'name: "yes"\n'
    out = apply_overrides(b"name: base\n", "p.yaml", {"name": ("a # b", False)})
    assert out == b'name: "a # b"\n'
    out = apply_overrides(b"n: 1\n", "p.yaml", {"n": (float("inf"), False)})
    assert out == b"n: .inf\n"


def test_yaml_block_values_fall_back_to_the_round_trip_dump() -> None:
    text = b"msg: |\n  line one\n  line two\nk: 1\n"
    out = apply_overrides(text, "p.yaml", {"msg": ("short", False)})
    assert out.endswith(b"k: 1\n") and load_mapping(out, "p.yaml") == {"msg": "short", "k": 1}


def test_an_override_keeps_its_shape_through_the_grid() -> None:
    given = parse_override("+other.json:train.lr=0.1,0.01")
    points = grid([given])
    assert [p[0].value for p in points] == [0.1, 0.01]
    first = points[0][0]
    assert (first.file, first.key, first.add, first.text) == (
        "other.json",
        "train.lr",
        True,
        "+other.json:train.lr=0.1,0.01",
    )
    one = parse_override("seed=1")
    assert grid([one]) == [(one,)]  # a single value is its own point, unchanged
    assert one.in_file("params.yaml").file == "params.yaml" and one.file is None
    with pytest.raises(ValueError, match="has 2 values"):
        _ = given.value
