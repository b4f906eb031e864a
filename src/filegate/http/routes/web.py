"""The web uploader: the static page at ``/`` and its assets under ``/web/``.

The assets ship inside the package (``filegate/web``) and are read once, when the router is
built. Every answer carries a strict Content-Security-Policy (nothing but this origin, plus
the origins the page uploads to) and an ETag, so browsers revalidate cheaply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response

from filegate.domain.errors import ErrorCode, FilegateError

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    """One file of the page, held in memory with its validator."""

    body: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, media_type: str) -> Asset:
        """``body`` with a strong validator derived from its bytes."""
        return cls(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def web_router(public_url: str, connect_src: tuple[str, ...] = ()) -> APIRouter:
    """``GET /`` (the page) and ``GET /web/{name}`` (its assets), HEAD too.

    ``public_url``'s origin (where signed local-store URLs point) and ``connect_src`` are
    added to the policy's ``connect-src``; a value that is not an origin raises ValueError.
    """
    assets = load_assets()
    headers = security_headers(content_security_policy(public_url, connect_src))
    router = APIRouter(include_in_schema=False)

    @router.api_route("/", methods=["GET", "HEAD"])
    async def page(request: Request) -> Response:
        return serve_asset(assets["index.html"], headers, request)

    @router.api_route("/web/{name}", methods=["GET", "HEAD"])
    async def asset(name: str, request: Request) -> Response:
        found = assets.get(name)
        if found is None:
            raise FilegateError(ErrorCode.NOT_FOUND, "No such page.")
        return serve_asset(found, headers, request)

    return router


def load_assets() -> dict[str, Asset]:
    """Every servable file of the package's ``web`` folder, by name (no subfolders)."""
    folder = resources.files("filegate") / "web"
    assets: dict[str, Asset] = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _MEDIA_TYPES:
            body = entry.read_bytes()
            assets[entry.name] = Asset.of(body, _MEDIA_TYPES[suffix])
    return assets


def content_security_policy(public_url: str, connect_src: tuple[str, ...]) -> str:
    """The page's policy: scripts, styles and images from this origin only (images also
    from ``blob:``, for thumbnails fetched with the token); connections to this origin,
    the public URL's and ``connect_src``."""
    origins = ["'self'", *_lenient_origin(public_url), *map(origin_of, connect_src)]
    connect = " ".join(dict.fromkeys(origins))
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' blob:",
            f"connect-src {connect}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``; ValueError unless it is an http(s) origin."""
    parts = urlsplit(url.strip())
    # Anything that could end the directive or add a source to it is refused.
    odd = any(char in parts.netloc for char in "@ ;,'\"")
    if parts.scheme not in ("http", "https") or not parts.netloc or odd:
        raise ValueError(f"not an http(s) origin: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _lenient_origin(url: str) -> list[str]:
    """The origin of ``url`` if it has one (a public URL need not: it is only a hint here)."""
    try:
        return [origin_of(url)]
    except ValueError:
        return []


def security_headers(policy: str) -> dict[str, str]:
    """Headers of every answer of the page: the policy and what hardens it."""
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",  # the URL may carry a token (?token=, ?grant=)
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        # No build step, so no hashed file names: revalidate every time (a 304 is cheap).
        "Cache-Control": "no-cache",
    }


def serve_asset(asset: Asset, headers: dict[str, str], request: Request) -> Response:
    """``asset`` with ``headers`` and its ETag: 304 when the client's copy is current, no
    body for HEAD."""
    common = {**headers, "ETag": asset.etag}
    if _matches(request.headers.get("if-none-match"), asset.etag):
        return Response(status_code=304, headers=common)
    body = b"" if request.method == "HEAD" else asset.body
    response = Response(body, media_type=asset.media_type, headers=common)
    if request.method == "HEAD":
        response.headers["Content-Length"] = str(len(asset.body))
    return response


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags
