"""The real `watcher run` as a subprocess, for lifecycle and browser tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import LOOPBACK_ENV, ROOT


def get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


class DaemonProcess:
    """``watcher run --http 127.0.0.1:0``; its log goes to a file the test can read while it runs."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *args: str):
        self.log_path = tmp_path / f"daemon-{time.monotonic_ns()}.log"
        self._log = self.log_path.open("w")
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **LOOPBACK_ENV, **env}   # feeds on 127.0.0.1
        self.proc = subprocess.Popen([sys.executable, "-m", "watcher", "run", "--http", "127.0.0.1:0",
                                      "--parse-workers", "0", *args],
                                     stdout=self._log, stderr=subprocess.STDOUT, env=full_env, cwd=ROOT)
        self._url: str | None = None

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, pattern: str, seconds: float = 60) -> re.Match:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log())
            if found:
                return found
            if self.proc.poll() is not None:
                raise AssertionError(f"the daemon exited ({self.proc.returncode}):\n{self.log()}")
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} in the daemon's log after {seconds}s:\n{self.log()}")

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self.wait_for(r"http listening address=\S+ url=(\S+)").group(1)
        return self._url

    def get(self, path: str) -> tuple[int, str]:
        return get(self.url + path)

    def json(self, path: str) -> tuple[int, dict]:
        code, body = self.get(path)
        return code, json.loads(body)

    def until(self, path: str, code: int, seconds: float = 30) -> dict:
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            last = self.json(path)
            if last[0] == code:
                return last[1]
            time.sleep(0.1)
        raise AssertionError(f"{path} did not answer {code} in {seconds}s: {last}")

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, seconds: float = 30) -> int:
        """Wait for the process to exit by itself; returns the exit code."""
        try:
            return self.proc.wait(timeout=seconds)
        finally:
            self._log.close()

    def stop(self, seconds: float = 30) -> int:
        """SIGTERM and wait for the exit; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=seconds)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()
