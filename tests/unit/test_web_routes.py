"""The web uploader's routes: the page, its assets, and the headers that protect it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from filegate.config import Settings
from filegate.http.problems import install_problem_handlers
from filegate.http.routes.web import load_assets, origin_of, web_router

PUBLIC = "http://files.example:8000"
BUCKET = "https://photos.s3.eu-west-1.amazonaws.com"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(web_router(f"{PUBLIC}/", (BUCKET,)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def _directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";"))}


async def test_the_page_is_served_at_the_root_under_a_strict_policy(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/web/main.js">' in response.text
    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "blob:"]
    assert policy["connect-src"] == ["'self'", PUBLIC, BUCKET]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"


async def test_assets_carry_their_media_type_and_the_same_headers(
    client: httpx.AsyncClient,
) -> None:
    script = await client.get("/web/main.js")
    style = await client.get("/web/app.css")

    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert style.headers["content-type"] == "text/css; charset=utf-8"
    for response in (script, style):
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in response.headers


async def test_a_matching_etag_answers_304_without_a_body(client: httpx.AsyncClient) -> None:
    etag = (await client.get("/web/main.js")).headers["etag"]

    again = await client.get("/web/main.js", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_head_gives_the_length_without_the_body(client: httpx.AsyncClient) -> None:
    full = await client.get("/")
    head = await client.head("/")

    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(full.content))


@pytest.mark.parametrize("name", ["nope.js", "..%2Fconfig.py", "__init__.py", "%2E%2E"])
async def test_anything_but_a_shipped_asset_is_not_found(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.get(f"/web/{name}")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "value", ["ftp://files.example", "files.example", "https://x.example; script-src *", ""]
)
def test_extra_connect_sources_must_be_origins(value: str) -> None:
    with pytest.raises(ValueError, match="origin"):
        origin_of(value)


def test_connect_sources_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILEGATE_WEB_CONNECT_SRC", f'["{BUCKET}"]')

    assert Settings().web_connect_src == (BUCKET,)


def test_every_reference_of_the_page_resolves_to_a_shipped_asset() -> None:
    assets = load_assets()
    html = assets["index.html"].body.decode()
    referenced = set(re.findall(r'(?:src|href)="/web/([^"]+)"', html))
    for name, asset in assets.items():
        if name.endswith(".js"):
            referenced |= set(re.findall(r'from "\./([^"]+)"', asset.body.decode()))

    assert referenced
    assert referenced <= set(assets)


def test_the_page_fetches_nothing_from_elsewhere() -> None:
    for name, asset in load_assets().items():
        if not name.endswith(".svg"):  # an SVG names its XML namespace by URL
            assert not re.search(rb"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", asset.body), name
