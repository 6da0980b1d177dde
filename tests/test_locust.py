"""Locust run directly, as its users run it: ``locust -f locustfiles`` from a checkout (one
machine, and Locust's distributed master/worker mode) and the locustfile that ships in the package
(``python -m callbacksim.load``, ``locust -f`` its path), with options from the command line and
from environment variables. Locust runs in subprocesses (it patches the standard library for
gevent), bounded in users and time, on loopback only."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from callbacksim.load import LOCUSTFILE
from callbacksim.target import BackgroundServer, ServerConfig

ROOT = Path(__file__).resolve().parents[1]
LOCUST = [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfiles")]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _aggregated(prefix: Path) -> dict[str, str]:
    with Path(f"{prefix}_stats.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    (total,) = [r for r in rows if r["Name"] == "Aggregated"]
    names = {r["Name"] for r in rows} - {"Aggregated"}
    # Requests are named purpose:state, so every step of a callback shows in the statistics.
    assert {"customer:connected", "acd:disconnected", "agent:alerting"} <= names
    return total


def test_one_machine(tmp_path: Path) -> None:
    with BackgroundServer(ServerConfig(port=0)) as url:
        run = subprocess.run(
            [
                *LOCUST,
                "--headless",
                "-u",
                "4",
                "-r",
                "4",
                "-t",
                "4s",
                "--host",
                url,
                "--csv",
                str(tmp_path / "one"),
                "--only-summary",
                "--callbacksim-seed",
                "3",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        total = _aggregated(tmp_path / "one")
    assert int(total["Request Count"]) > 50
    assert int(total["Failure Count"]) == 0


def test_distributed_master_and_workers(tmp_path: Path) -> None:
    port = _free_port()
    with BackgroundServer(ServerConfig(port=0)) as url:
        master = subprocess.Popen(
            [
                *LOCUST,
                "--master",
                "--headless",
                "-u",
                "6",
                "-r",
                "6",
                "-t",
                "5s",
                "--host",
                url,
                "--expect-workers",
                "2",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(port),
                "--csv",
                str(tmp_path / "dist"),
                "--only-summary",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        workers = [
            subprocess.Popen(
                [*LOCUST, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=tmp_path,
            )
            for _ in range(2)
        ]
        try:
            _, err = master.communicate(timeout=90)
            assert master.returncode == 0, err[-2000:]
        finally:
            for process in [master, *workers]:
                if process.poll() is None:
                    process.kill()
            for w in workers:
                w.wait(timeout=30)
        total = _aggregated(tmp_path / "dist")
    assert int(total["Request Count"]) > 50
    assert int(total["Failure Count"]) == 0


def test_the_packaged_locustfile_takes_options_from_the_environment(tmp_path: Path) -> None:
    """After ``pip install`` there is no checkout: ``python -m callbacksim.load`` and ``locust -f``
    on the packaged file run, and CALLBACKSIM_* variables set callbacksim's options."""
    env = {**os.environ, "CALLBACKSIM_SEED": "5", "CALLBACKSIM_LIFECYCLES": "7"}
    with BackgroundServer(ServerConfig(port=0)) as url:
        for name, command in (
            ("module", [sys.executable, "-m", "callbacksim.load"]),
            ("path", [sys.executable, "-m", "locust", "-f", LOCUSTFILE]),
        ):
            results = tmp_path / f"{name}.json"
            run = subprocess.run(
                [
                    *command,
                    *("--headless", "-u", "2", "-t", "30s", "--host", url, "--only-summary"),
                    *("--callbacksim-results", str(results)),
                ],
                capture_output=True,
                text=True,
                timeout=90,
                cwd=tmp_path,
                env=env,
            )
            assert run.returncode == 0, run.stderr[-2000:]
            data = orjson.loads(results.read_bytes())
            assert data["settings"]["seed"] == 5
            assert (data["done"], data["stopped_by"]) == (7, "lifecycles")
            assert data["convergence"]["converged"]
