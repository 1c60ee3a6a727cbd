"""DVC's formats as gitexp reads them, without DVC: config, .dvc files, listings, remotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitexp.errors import FormatError
from gitexp.experiments.importers import dvcformat as fmt
from gitexp.experiments.importers.dvcremotes import convert

CONFIG = """\
[core]
    remote = store
    autostage = true
['remote "store"']
    url = ../../storage
['remote "cloud"']
    url = azure://container/path
    account_name = acct
    connection_string = secret-value
[cache]
    dir = /elsewhere/cache
"""


def test_config_sections_remotes_and_local_overrides() -> None:
    shared = fmt.parse_config(CONFIG, ".dvc/config")
    assert shared.default_remote == "store"
    assert shared.cache_dir == "/elsewhere/cache"
    assert shared.remotes["store"] == {"url": "../../storage"}
    local = fmt.parse_config("['remote \"store\"']\n  url = /mnt/dvc\n", ".dvc/config.local")
    merged = fmt.merge_configs(shared, local)
    assert merged.remotes["store"]["url"] == "/mnt/dvc"
    assert merged.default_remote == "store"


def test_a_config_line_outside_a_section_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"\.dvc/config: line 1"):
        fmt.parse_config("remote = x\n", ".dvc/config")


def test_remotes_become_gitexp_remotes_without_their_secrets(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    local = convert("store", {"url": "../../storage"}, root / "sub" / ".dvc", root)
    assert local.url == "storage" and local.note is None
    outside = convert("o", {"url": "../../../storage"}, root / "sub" / ".dvc", root)
    assert outside.url == "../storage"
    cloud = convert(
        "cloud",
        {"url": "azure://c/p", "account_name": "acct", "connection_string": "s"},
        root / ".dvc",
        root,
    )
    assert cloud.url == "az://c/p"
    assert cloud.options == {"account_name": "acct"}
    assert "connection_string" in (cloud.note or "") and "--local cloud" in (cloud.note or "")
    s3 = convert("s3", {"url": "s3://b/p", "endpointurl": "http://127.0.0.1:9000"}, root, root)
    assert s3.options == {"endpoint_url": "http://127.0.0.1:9000"}
    odd = convert("hd", {"url": "hdfs://host/p"}, root / ".dvc", root)
    assert odd.url == "" and "no gitexp backend" in (odd.note or "")


def test_dvc_file_outputs_are_root_relative_and_checked() -> None:
    data = b"outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  size: 9\n  nfiles: 2\n  hash: md5\n  path: imgs\n"
    (out,) = fmt.parse_dvc_file(data, "data/imgs.dvc")
    assert (out.path, out.is_dir, out.legacy) == ("data/imgs", True, False)
    legacy = fmt.parse_dvc_file(
        b"outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: a\n", "a.dvc"
    )
    assert legacy[0].legacy
    with pytest.raises(FormatError, match="leaves the repository"):
        fmt.parse_dvc_file(
            b"outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: ../../x\n", "d/a.dvc"
        )
    with pytest.raises(FormatError, match="not a DVC md5"):
        fmt.parse_dvc_file(b"outs:\n- md5: nope\n  path: a\n", "a.dvc")
    uncached = b"outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: a\n  cache: false\n"
    assert fmt.parse_dvc_file(uncached, "a.dvc") == []


def test_dir_listing_and_pipeline() -> None:
    listing = b'[{"md5": "0123456789abcdef0123456789abcdef", "relpath": "x/y.bin"}]'
    assert fmt.parse_dir_listing(listing, "l") == [("x/y.bin", "0123456789abcdef0123456789abcdef")]
    with pytest.raises(FormatError, match="not JSON"):
        fmt.parse_dir_listing(b"{", "l")
    spec = b"""\
stages:
  train:
    cmd: python train.py
    outs: [model.bin]
    metrics: [scores.json: {cache: false}]
    plots: [plots/loss.tsv: {cache: false}]
"""
    lock = b"""\
schema: '2.0'
stages:
  train:
    params: {params.yaml: {lr: 0.1}, extra.toml: {x: 1}}
    outs:
    - {path: model.bin, hash: md5, md5: 0123456789abcdef0123456789abcdef, size: 3}
"""
    pipeline = fmt.parse_pipeline(spec, lock, "sub/")
    assert pipeline.commands == ("python train.py",)
    assert pipeline.params == ("sub/params.yaml", "sub/extra.toml")
    assert pipeline.metrics == ("sub/scores.json",)
    assert pipeline.plots == ("sub/plots/loss.tsv",)
    assert [o.path for o in pipeline.outs] == ["sub/model.bin"]
    assert fmt.uncached_paths(spec, "sub/") == {"sub/scores.json", "sub/plots/loss.tsv"}
