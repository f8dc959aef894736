"""urlwatch 2.29, the peer, in its own virtual environment: one ``url`` job per feed, stdout reporter.

urlwatch fetches each job (10 worker threads, its fixed default), sends If-None-Match /
If-Modified-Since from its cache, diffs the document against the last one and reports new and
changed jobs as whole-document diffs. It parses no feed and matches no rule: it is the floor.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VERSION = "2.29"


def ensure_installed(work: Path) -> Path:
    """The urlwatch executable in ``work/urlwatch-venv`` (created and installed from PyPI if needed)."""
    venv = work / "urlwatch-venv"
    binary = venv / "bin" / "urlwatch"
    stamp = venv / f".urlwatch-{VERSION}"
    if not stamp.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", f"urlwatch=={VERSION}"], check=True)
        stamp.touch()
    return binary


class Urlwatch:
    """One urlwatch state (jobs, config, cache) for a farm of ``feeds`` feeds."""

    def __init__(self, binary: Path, folder: Path):
        self.binary, self.folder = binary, folder

    def write_jobs(self, urls: list[str], *, no_validators: bool = False) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        header = "headers:\n  X-Bench-Validators: 'off'\n" if no_validators else ""
        docs = [f"name: f{i:05d}\nurl: {url}\n{header}" for i, url in enumerate(urls, 1)]
        (self.folder / "urls.yaml").write_text("---\n".join(docs))
        config = self.folder / "config.yaml"
        if not config.exists():
            subprocess.run(self.command("--list"), check=True, capture_output=True)  # writes the default
            text = config.read_text()
            # plain text on stdout: no colour codes, every other reporter stays off (the default)
            config.write_text(text.replace("  stdout:\n    color: true\n", "  stdout:\n    color: false\n"))

    def reset_cache(self) -> None:
        (self.folder / "cache.db").unlink(missing_ok=True)

    def command(self, *extra: str) -> list[str]:
        f = self.folder
        return [str(self.binary), "--urls", str(f / "urls.yaml"), "--config", str(f / "config.yaml"),
                "--hooks", str(f / "hooks.py"), "--cache", str(f / "cache.db"), *extra]
