"""``gitexp remote``: storage remotes in gitexp.yaml, secrets only in the local config."""

from __future__ import annotations

from pathlib import Path

import orjson


def test_add_list_default_remove(repo: Path, cli) -> None:
    (repo / "gitexp.yaml").write_text("# my project\nparams: [params.yaml]\n")
    assert cli("remote", "add", "store", "../storage", "--default").code == 0
    assert (
        cli("remote", "add", "s3", "s3://bucket/x", "-o", "endpoint_url=http://127.0.0.1:9").code
        == 0
    )
    text = (repo / "gitexp.yaml").read_text()
    assert text.startswith("# my project\n")
    assert "remote: store" in text and "endpoint_url: http://127.0.0.1:9" in text
    listed = cli("remote", "list")
    assert listed.out.splitlines() == [
        "  s3\ts3://bucket/x\tendpoint_url=http://127.0.0.1:9",
        "* store\t../storage",
    ]
    assert cli("remote", "default", "s3").code == 0
    assert orjson.loads(cli("remote", "list", "--json").out)["remotes"][0]["default"] is True
    assert cli("remote", "remove", "s3").code == 0
    assert "remote:" not in (repo / "gitexp.yaml").read_text()
    gone = cli("remote", "remove", "s3")
    assert gone.code == 1 and "unknown storage remote 's3'" in gone.err


def test_adding_twice_is_a_conflict_unless_forced(repo: Path, cli) -> None:
    assert cli("remote", "add", "store", "../a").code == 0
    again = cli("remote", "add", "store", "../b")
    assert again.code == 1 and "already exists" in again.err
    assert cli("remote", "add", "store", "../b", "--force").code == 0
    assert "../b" in (repo / "gitexp.yaml").read_text()


def test_secrets_never_go_into_gitexp_yaml(repo: Path, cli) -> None:
    refused = cli("remote", "add", "s3", "s3://b/x", "-o", "secret=hunter2-secret")
    assert refused.code == 1 and "would be committed" in refused.err
    url = cli("remote", "add", "web", "https://user:hunter2-secret@host/x")
    assert url.code == 1 and "password in its URL" in url.err
    assert "hunter2" not in url.err
    assert (
        not (repo / "gitexp.yaml").exists() or "hunter2" not in (repo / "gitexp.yaml").read_text()
    )
    assert cli("remote", "add", "s3", "s3://b/x").code == 0
    modify = cli("remote", "modify", "s3", "secret", "hunter2-secret")
    assert modify.code == 1 and "--local" in modify.err
    assert cli("remote", "modify", "--local", "s3", "secret", "hunter2-secret").code == 0
    assert cli("remote", "modify", "--local", "s3", "key", "AKIAEXAMPLE").code == 0
    assert "hunter2" not in (repo / "gitexp.yaml").read_text()
    local = repo / ".git" / "gitexp" / "config.yaml"
    assert "hunter2-secret" in local.read_text()
    assert local.stat().st_mode & 0o077 == 0
    listed = cli("remote", "list")
    assert "hunter2" not in listed.out and "secret=***" in listed.out


def test_bad_remote_settings_are_clear(repo: Path, cli) -> None:
    bad = cli("remote", "add", "x", "ftp://host/x")
    assert bad.code == 1 and "unsupported URL scheme 'ftp://'" in bad.err
    name = cli("remote", "add", "-bad", "../x")
    assert name.code == 2
    option = cli("remote", "add", "x", "s3://b", "-o", "colour=blue")
    assert option.code == 1 and "unknown option 'colour'" in option.err
    (repo / "gitexp.yaml").write_text("remotes:\n  s:\n    url: s3://b\n    key: AKIA\n")
    shown = cli("show")
    assert shown.code == 1 and "holds the secret 'key'" in shown.err


def test_no_remote_configured(repo: Path, cli) -> None:
    from tests.data.syncsetup import track

    (repo / "data.bin").write_bytes(b"x" * 100)
    track(repo, "data.bin")
    result = cli("push")
    assert result.code == 1
    assert "no storage remote is set" in result.err and "gitexp remote add" in result.err
