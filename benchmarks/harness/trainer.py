"""The workload's training script (copied into each generated project as ``train.py``).

Standard library only, so it runs under any Python: it reads ``params.yaml`` and
writes ``metrics.json`` with values that depend on every byte of the params, so two
experiments with different params have different metrics. The experiment generator
imports `metrics_for` to write exactly what a real run would write.
"""

import hashlib
import json


def metrics_for(params: bytes) -> bytes:
    """The bytes of ``metrics.json`` for these params: four numbers in [0, 1]."""
    digest = hashlib.sha256(params).digest()
    values = [round(int.from_bytes(digest[2 * i : 2 * i + 2], "big") / 65535, 4) for i in range(4)]
    metrics = dict(zip(("acc", "loss", "precision", "recall"), values, strict=True))
    return (json.dumps(metrics, indent=2) + "\n").encode()


def output_for(metrics: bytes) -> bytes:
    """What the script prints."""
    return f"trained: acc={json.loads(metrics)['acc']}\n".encode()


if __name__ == "__main__":
    with open("params.yaml", "rb") as handle:
        written = metrics_for(handle.read())
    with open("metrics.json", "wb") as handle:
        handle.write(written)
    print(output_for(written).decode(), end="")
