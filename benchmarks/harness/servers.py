"""A real S3-compatible server on loopback: SeaweedFS (``weed mini``), started and stopped here.

Every port it opens is chosen free on 127.0.0.1 (SeaweedFS adds 10,000 to some ports
for gRPC, so both must be free), it binds to loopback only, and it is stopped by its
own process id.
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ACCESS_KEY = "benchkey"
SECRET_KEY = "benchsecret"
BUCKET = "bench"
PORTS = ("s3", "master", "volume", "filer", "admin")


def credentials() -> dict[str, str]:
    """The S3 credentials the server accepts, as environment variables for clients."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` ports free on loopback, each with port + 10000 free too."""
    rng = random.Random()
    chosen: list[int] = []
    while len(chosen) < count:
        port = rng.randrange(20000, 45000)
        if (
            port not in chosen
            and port + 10000 not in chosen
            and _free(port)
            and _free(port + 10000)
        ):
            chosen.append(port)
    return chosen


def _wait_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"SeaweedFS exited early with code {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"SeaweedFS did not open port {port} within {timeout:.0f} s")


class SeaweedS3:
    """A running ``weed mini``: its S3 endpoint, bucket ``bench``, and how to empty a prefix."""

    def __init__(self, weed: str, folder: Path, env: dict[str, str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
        self.endpoint = f"http://127.0.0.1:{ports['s3']}"
        self.filer = f"http://127.0.0.1:{ports['filer']}"
        argv = [
            weed,
            "mini",
            f"-dir={folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.max=20",
            f"-bucket={BUCKET}",
        ] + [f"-{name}.port={port}" for name, port in ports.items()]
        self.log = open(folder / "weed.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv,
            cwd=folder,
            env={**env, **credentials()},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_port(ports["s3"], self.process, 60)
            _wait_port(ports["filer"], self.process, 60)
            self._wait_bucket()
        except BaseException:
            self.stop()
            raise

    def _wait_bucket(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.filer}/buckets/{BUCKET}/", timeout=5):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"SeaweedFS did not create bucket '{BUCKET}'")

    def url(self, prefix: str) -> str:
        """The ``s3://`` URL of ``prefix`` in the bucket."""
        return f"s3://{BUCKET}/{prefix}"

    def empty(self, prefix: str) -> None:
        """Delete everything under ``prefix`` (through the filer, not through S3)."""
        request = urllib.request.Request(
            f"{self.filer}/buckets/{BUCKET}/{prefix}?recursive=true&ignoreRecursiveError=true",
            method="DELETE",
        )
        try:
            with urllib.request.urlopen(request, timeout=120):
                pass
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise

    def stop(self) -> None:
        """Stop the server by its process id (SIGTERM, then SIGKILL after 20 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
