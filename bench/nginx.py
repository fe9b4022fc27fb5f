"""nginx as a plain reverse proxy: a config in a temp dir, run as a foreground child.

One worker per core, a keep-alive upstream pool, ``proxy_buffering off`` so responses stream
like they do through the gateway. The reference every other proxy is compared with.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bench.procs import Child

CONFIG = """\
worker_processes {workers};
daemon off;
master_process on;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 4096;
    multi_accept on;
}}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_max_body_size 16m;
    keepalive_requests 1000000;
    upstream mcp_upstream {{
        server 127.0.0.1:{upstream_port};
        keepalive 128;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        location / {{
            proxy_pass http://mcp_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx executable, also where Debian puts it outside a non-root PATH."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


def write_config(prefix: Path, *, port: int, upstream_port: int, workers: int) -> Path:
    """Write ``nginx.conf`` for a reverse proxy on ``port`` to ``upstream_port``; returns its path."""
    prefix.mkdir(parents=True, exist_ok=True)
    path = prefix / "nginx.conf"
    path.write_text(CONFIG.format(prefix=prefix, port=port, upstream_port=upstream_port, workers=workers))
    return path


def nginx_child(prefix: Path, *, port: int, upstream_port: int, log_dir: Path) -> Child:
    """The (unstarted) nginx master process, one worker per core."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed")
    conf = write_config(prefix, port=port, upstream_port=upstream_port, workers=os.cpu_count() or 1)
    return Child("nginx", [binary, "-p", str(prefix), "-c", str(conf)], log_dir / "nginx.log")
