"""The processes of bench_scale: `chatloom serve --no-worker` webhook processes and `chatloom worker`
processes on one database, started, killed with SIGKILL, and counted in CPU seconds.

A process's CPU is counted from the moment it is ready (webhooks: before the load starts; a worker:
when it says it handles events), so that start-up, which a long-running deployment pays once, is
not charged to the turns. A killed worker is sampled just before the kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from random import Random

import httpx

from tests.fakes.proc import cpu_seconds

ROOT = Path(__file__).resolve().parents[1]
WORKER_READY = b"Chatloom worker"  # how the line a worker prints once it handles events begins


@dataclass(eq=False)
class Proc:
    kind: str  # "hook" or "worker"
    popen: subprocess.Popen[bytes]
    log: Path
    port: int = 0
    base_cpu: float | None = None  # CPU seconds when it was ready
    last_cpu: float = 0.0  # the last sample (taken before a kill or a stop)
    killed_at: float | None = None

    @property
    def pid(self) -> int:
        return self.popen.pid

    def sample(self) -> float:
        if self.popen.poll() is None:
            self.last_cpu = cpu_seconds(self.pid)
        return self.last_cpu

    def spent(self) -> float:
        """CPU seconds since it was ready (none if it never was)."""
        return max(0.0, self.last_cpu - self.base_cpu) if self.base_cpu is not None else 0.0


class Fleet:
    """Every process this run started; all stopped by stop(), whatever happened."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.procs: list[Proc] = []

    def _spawn(self, kind: str, args: list[str], port: int = 0) -> Proc:
        log = self.folder / f"{kind}-{len(self.procs)}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "chatloom", *args],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        proc = Proc(kind, popen, log, port)
        self.procs.append(proc)
        return proc

    def start_hook(self, port: int) -> Proc:
        return self._spawn("hook", ["serve", "--no-examples", "--no-worker", "--port", str(port)], port)

    def start_worker(self) -> Proc:
        return self._spawn("worker", ["worker"])

    def alive(self, kind: str) -> list[Proc]:
        return [p for p in self.procs if p.kind == kind and p.popen.poll() is None]

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait until every webhook answers /health and every worker says it works; count from now."""
        deadline = time.monotonic() + timeout
        for p in self.procs:
            while not self._ready(p):
                if p.popen.poll() is not None:
                    raise RuntimeError(f"a {p.kind} process stopped at start: {tail(p.log)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"a {p.kind} process did not start within {timeout:.0f} s: {tail(p.log)}")
                time.sleep(0.1)
        for p in self.procs:
            p.base_cpu = p.sample()

    def _ready(self, p: Proc) -> bool:
        if p.kind == "worker":
            return WORKER_READY in p.log.read_bytes()
        try:
            return httpx.get(f"http://127.0.0.1:{p.port}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def notice_ready(self) -> None:
        """Start counting the CPU of the workers started during the load, once they are ready."""
        for p in self.procs:
            if p.base_cpu is None and p.kind == "worker" and p.popen.poll() is None and self._ready(p):
                p.base_cpu = p.sample()

    def pick_worker(self, rng: Random) -> Proc | None:
        """A random live worker (one that is ready, when there is one)."""
        ready = [p for p in self.alive("worker") if p.base_cpu is not None] or self.alive("worker")
        return rng.choice(ready) if ready else None

    def kill(self, victim: Proc) -> None:
        """SIGKILL a worker (sampled just before) and start another at once."""
        victim.sample()
        os.kill(victim.pid, signal.SIGKILL)
        victim.killed_at = time.time()
        victim.popen.wait(timeout=10)
        self.start_worker()

    def start_cpu(self) -> float | None:
        """The median CPU seconds a worker spent starting (until it said it works)."""
        spent = sorted(p.base_cpu for p in self.procs if p.kind == "worker" and p.base_cpu is not None)
        return spent[len(spent) // 2] if spent else None

    def cpu(self, kind: str) -> float:
        """CPU seconds the processes of a kind spent since they were ready (sampled now if alive)."""
        total = 0.0
        for p in self.procs:
            if p.kind == kind:
                p.sample()
                total += p.spent()
        return total

    def stop(self) -> None:
        """Terminate every process (SIGKILL after 10 s), sampled first."""
        for p in self.procs:
            p.sample()
            if p.popen.poll() is None:
                p.popen.terminate()
        deadline = time.monotonic() + 10
        for p in self.procs:
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait(timeout=10)

    def errors(self) -> list[str]:
        """Error lines the processes logged (the first few of each)."""
        found = []
        for p in self.procs:
            lines = [line for line in p.log.read_text(errors="replace").splitlines() if ": error:" in line]
            found += [f"{p.kind} {p.pid}: {line}" for line in lines[:3]]
        return found


def tail(log: Path, chars: int = 1500) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else ""
