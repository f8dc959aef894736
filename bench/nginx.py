"""nginx on 127.0.0.1 serving the farm, with and without validators.

``/v/<file>``: a static server as feeds are usually served: ETag and Last-Modified from the
file's mtime and size, 304 on If-None-Match / If-Modified-Since. ``/nv/<file>``: the same files
from a location with ``etag off`` and ``if_modified_since off``: a server that ignores
validators and answers 200 with the same body every time. A request to ``/v/`` carrying
``X-Bench-Validators: off`` is routed to ``/nv/`` internally, so a client can be switched to a
validator-ignoring server without changing its feed URLs (and so without losing its state).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CONF = """\
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
daemon off;
{user}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
    types {{ application/xml xml; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        location /v/ {{
            alias {farm}/;
            if ($http_x_bench_validators = "off") {{ rewrite ^/v/(.*)$ /nv/$1 last; }}
        }}
        location /nv/ {{
            alias {farm}/;
            etag off;
            if_modified_since off;
        }}
    }}
}}
"""


def ensure_installed() -> str:
    """The nginx binary; installs Debian's nginx-light with apt-get when running as root."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("nginx is not installed and this is not root: run `apt-get install nginx-light` first")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True, env=env)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Nginx:
    def __init__(self, binary: str, farm: Path, work: Path):
        self.binary, self.farm, self.work = binary, farm.resolve(), work.resolve()
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Nginx:
        (self.work / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.work / "nginx.conf"
        conf.write_text(CONF.format(work=self.work, port=self.port, farm=self.farm,
                                    user="user root;" if os.geteuid() == 0 else ""))
        self.process = subprocess.Popen([self.binary, "-p", str(self.work), "-c", str(conf), "-e",
                                         str(self.work / "error.log")], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"nginx did not start: {self.process.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise SystemExit("nginx did not accept connections within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> Nginx:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
