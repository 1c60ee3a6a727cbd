"""Sampling a run's CPU, memory and GPU use into ``system/`` series while it runs.

A `Sampler` is a thread of the recording process (``gitexp run``, or the process of a
standalone `gitexp.Experiment`), never of the user's command: the command's own
timing is left alone, and a command killed hard still has its samples written. Each
sample sums over the command's whole process tree (a shell, its Python, the data
loader's workers), read with psutil (``gitexp[system]``):

- ``system/cpu_percent``: CPU time used per wall second, in percent of one core
  (two busy cores read 200);
- ``system/memory_rss``: resident memory, in MiB;
- ``system/gpu<N>/utilization`` (percent) and ``system/gpu<N>/memory_used`` (MiB),
  for each GPU the command may use (``CUDA_VISIBLE_DEVICES``, N as the command
  numbers them), when NVIDIA's management library (``nvidia-ml-py``) and a GPU are
  there.

The step of a sample is the seconds since the command started. Rows go to the run
folder's ``series/system/`` as they are taken, so a crashed run keeps them too.
"""

from __future__ import annotations

import contextlib
import importlib.util
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from gitexp.core.config import SystemMetricsSettings
from gitexp.core.metrics import SERIES_HEADER, series_key_path, series_row

PREFIX = "system/"
MIB = 1024 * 1024
MISSING_PSUTIL = (
    "system metrics are not recorded: psutil is not installed; "
    "`pip install 'gitexp[system]'` adds it, or set `system_metrics: false` in gitexp.yaml"
)

Probe = Callable[[], dict[str, float]]


class Sampler:
    """Samples one process tree every ``interval`` seconds into a run folder's series.

    `start` and `stop` may each be called once; `stop` returns once the thread has
    ended, so no row is written after it. The thread imports psutil and looks for
    GPUs only when it takes its first sample, so a run's command starts without
    waiting for that, and a command shorter than one interval costs nothing but the
    thread. Errors of a vanished or foreign process are skipped: sampling never
    fails a run.
    """

    def __init__(self, series_dir: Path, interval: float, visible_gpus: str | None) -> None:
        self._dir = series_dir
        self._interval = interval
        self._visible = visible_gpus
        self._born = time.time()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._clock = 0.0

    def start(self, pid: int) -> None:
        """Begin sampling process ``pid`` and its descendants."""
        self._pid = pid
        self._clock = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="gitexp-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End sampling; idempotent, and harmless before `start`."""
        self._done.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        """A sample every interval, the first one interval after the start.

        So CPU use is measured over a whole interval, and a command shorter than one
        interval has no system series at all rather than one meaningless point.
        """
        if self._done.wait(self._interval):
            return
        try:
            tree = _ProcessTree(self._pid, self._born, self._clock)
        except ImportError:  # found but broken: no samples, as without it
            return
        gpu = gpu_probe(self._visible)
        while True:
            self._sample(tree, gpu)
            if self._done.wait(self._interval):
                return

    def _sample(self, tree: _ProcessTree, gpu: Probe | None) -> None:
        values = tree.sample()
        if gpu is not None:
            with contextlib.suppress(Exception):  # a driver hiccup costs a sample, not the run
                values.update(gpu())
        step = round(time.monotonic() - self._clock, 2)
        for key, value in values.items():
            _append(self._dir, key, step, value)


def _append(folder: Path, key: str, step: float, value: float) -> None:
    target = folder / series_key_path(key)
    new = not target.exists()
    if new:
        target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "ab") as handle:
        if new:
            handle.write(SERIES_HEADER)
        handle.write(series_row(step, round(value, 3)))


class _ProcessTree:
    """A process and its descendants, with the CPU time each had used at the last sample.

    A process's CPU time includes that of its children it has reaped, so a short-lived
    worker's time is not lost when it ends between two samples. A process that
    started before sampling did (a notebook's own) counts from its first sample on.
    """

    def __init__(self, pid: int, born: float, clock: float) -> None:
        import psutil

        self._psutil = psutil
        self._born = born
        self._last = clock
        self._root: Any = None
        with contextlib.suppress(psutil.Error):  # ended already: nothing to sample
            self._root = psutil.Process(pid)
        self._used: dict[tuple[int, float], float] = {}

    def sample(self) -> dict[str, float]:
        """CPU percent since the last sample and resident MiB of the whole tree now."""
        psutil = self._psutil
        try:
            procs = [self._root, *self._root.children(recursive=True)] if self._root else []
        except psutil.Error:
            return {}
        cpu = rss = 0.0
        seen: dict[tuple[int, float], float] = {}
        for proc in procs:
            try:
                with proc.oneshot():
                    key = (proc.pid, proc.create_time())
                    times = proc.cpu_times()
                    rss += proc.memory_info().rss
            except psutil.Error:
                continue
            used = times.user + times.system + times.children_user + times.children_system
            before = self._used.get(key, 0.0 if key[1] >= self._born - 1.0 else used)
            cpu += max(0.0, used - before)
            seen[key] = used
        self._used = seen
        now = time.monotonic()
        span, self._last = max(now - self._last, 1e-6), now
        if not seen:
            return {}
        return {PREFIX + "cpu_percent": 100 * cpu / span, PREFIX + "memory_rss": rss / MIB}


def start_sampler(
    settings: SystemMetricsSettings, series_dir: Path, env: Mapping[str, str]
) -> tuple[Sampler | None, str | None]:
    """A sampler for a run whose command sees ``env``, or None with the note to give.

    None without a note when the project turned sampling off; with `MISSING_PSUTIL`
    when psutil is not installed (looked up, not imported: the sampler's thread
    imports it). GPUs are sampled only if NVIDIA's library loads and finds a device
    the command may use.
    """
    if not settings.enabled:
        return None, None
    if not _installed("psutil"):
        return None, MISSING_PSUTIL
    return Sampler(series_dir, settings.interval, env.get("CUDA_VISIBLE_DEVICES")), None


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def gpu_probe(visible: str | None) -> Probe | None:
    """What reads the GPUs the command may use, or None without NVIDIA's library or a GPU."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        uuids = [_text(pynvml.nvmlDeviceGetUUID(h)) for h in handles]
    except pynvml.NVMLError:
        return None
    chosen = [handles[i] for i in visible_devices(visible, uuids)]
    if not chosen:
        return None
    return lambda: _gpu_values(pynvml, chosen)


def _gpu_values(pynvml: ModuleType, handles: Sequence[object]) -> dict[str, float]:
    values: dict[str, float] = {}
    for number, handle in enumerate(handles):
        rates = pynvml.nvmlDeviceGetUtilizationRates(handle)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        values[f"{PREFIX}gpu{number}/utilization"] = float(rates.gpu)
        values[f"{PREFIX}gpu{number}/memory_used"] = memory.used / MIB
    return values


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def visible_devices(visible: str | None, uuids: Sequence[str]) -> list[int]:
    """The devices (by index among ``uuids``) a command may use, in the order it sees them.

    As CUDA reads ``CUDA_VISIBLE_DEVICES``: unset means every device; otherwise a
    comma list of indexes or (prefixes of) UUIDs, read up to the first entry that
    names no device, with each device once.
    """
    if visible is None:
        return list(range(len(uuids)))
    chosen: list[int] = []
    for entry in (e.strip() for e in visible.split(",")):
        index = _device(entry, uuids)
        if index is None or index in chosen:
            break
        chosen.append(index)
    return chosen


def _device(entry: str, uuids: Sequence[str]) -> int | None:
    if entry.isdigit():
        index = int(entry)
        return index if index < len(uuids) else None
    if not entry:
        return None
    prefix = entry if entry.startswith("GPU-") else "GPU-" + entry
    matches = [i for i, uuid in enumerate(uuids) if uuid.startswith(prefix)]
    return matches[0] if len(matches) == 1 else None
