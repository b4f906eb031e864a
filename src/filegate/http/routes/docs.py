"""``GET /docs``: Swagger UI over ``/openapi.json``, served from this process only.

Swagger UI's script and style come from the ``fastapi-offline`` package (a registry package
that ships them), read once per process; the page and its start-up script are written here,
so no inline script is needed. Every answer carries a strict Content-Security-Policy:
scripts, styles, images and connections from this origin only, so the docs work offline
and load nothing from anywhere else.
"""

from __future__ import annotations

import functools
import html
from importlib import resources

from fastapi import APIRouter, Request, Response

from filegate.domain.errors import ErrorCode, FilegateError
from filegate.http.routes.web import Asset, security_headers, serve_asset

_PACKAGE = "fastapi_offline"
_VENDORED = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - API docs</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<main id="swagger-ui"></main>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/start.js"></script>
</body>
</html>
"""

# validatorUrl null: Swagger UI would otherwise send the document to an outside validator.
_START = """"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
});
"""

DOCS_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


def docs_router(title: str) -> APIRouter:
    """``GET``/``HEAD /docs`` (the page) and ``/docs/assets/{name}`` (its files)."""
    assets = {
        **vendored_assets(),
        "start.js": Asset.of(_START.encode(), "text/javascript; charset=utf-8"),
    }
    page = Asset.of(_PAGE.format(title=html.escape(title)).encode(), "text/html; charset=utf-8")
    headers = security_headers(DOCS_POLICY)
    router = APIRouter(include_in_schema=False)

    @router.api_route("/docs", methods=["GET", "HEAD"])
    async def docs_page(request: Request) -> Response:
        return serve_asset(page, headers, request)

    @router.api_route("/docs/assets/{name}", methods=["GET", "HEAD"])
    async def docs_asset(name: str, request: Request) -> Response:
        found = assets.get(name)
        if found is None:
            raise FilegateError(ErrorCode.NOT_FOUND, "No such page.")
        return serve_asset(found, headers, request)

    return router


@functools.cache
def vendored_assets() -> dict[str, Asset]:
    """Swagger UI's files as the installed ``fastapi-offline`` ships them (read once)."""
    folder = resources.files(_PACKAGE) / "static"
    return {
        name: Asset.of((folder / name).read_bytes(), media_type)
        for name, media_type in _VENDORED.items()
    }
