"""nginx as the ``store_put`` baseline: WebDAV PUT to disk, one worker process.

``python -m bench.nginx_put FOLDER PORT`` writes a configuration under ``FOLDER`` and
replaces itself with ``nginx`` in the foreground, so the benchmark's server runner starts
and stops it like any other server. PUTs to ``/put/<name>`` land in ``FOLDER/objects``;
nginx's dav module always spools the body to a temporary file on the same filesystem
and renames it into place (no hash, no fsync).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from bench.store_apps import BARE_PUT_PATH

PUT_PREFIX = BARE_PUT_PATH.removesuffix("{name}")

_CONFIG = """\
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/objects/.tmp;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{port};
        root {folder}/objects;
        location {prefix} {{
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
}}
"""


def available() -> bool:
    """Whether an ``nginx`` executable is on ``PATH``."""
    return shutil.which("nginx") is not None


def command(folder: Path) -> list[str]:
    """The server command for :mod:`bench.servers` (``{port}`` filled in by it)."""
    return [sys.executable, "-m", "bench.nginx_put", str(folder), "{port}"]


def config(folder: Path, port: int) -> str:
    """The configuration text; as root, the worker stays root so it can write ``folder``."""
    user = "user root;" if os.geteuid() == 0 else ""
    return _CONFIG.format(folder=folder, port=port, user=user, prefix=PUT_PREFIX)


def main(folder: Path, port: int) -> None:
    (folder / "objects" / ".tmp").mkdir(parents=True, exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(config(folder, port))
    executable = shutil.which("nginx") or "nginx"
    os.execv(executable, [executable, "-e", str(folder / "error.log"), "-c", str(conf)])


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), int(sys.argv[2]))
