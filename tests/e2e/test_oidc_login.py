"""The real server accepting an OIDC issuer's tokens, its keys rotated while it runs."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.e2e.server import running_server
from tests.support.oidc_provider import running_provider


def test_the_server_takes_an_issuers_tokens_and_follows_its_key_rotation(
    tmp_path: Path,
) -> None:
    with running_provider() as provider:
        env = {
            "FILEGATE_OIDC_ISSUER": provider.issuer,
            "FILEGATE_OIDC_AUDIENCE": "filegate",
            "FILEGATE_OIDC_REFETCH_INTERVAL_SECONDS": "0.5",
        }
        first = provider.new_key()
        with running_server(tmp_path / "data", env) as server, httpx.Client() as http:

            def status(token: str) -> int:
                answer = http.get(
                    f"{server.url}/v1/files", headers={"Authorization": f"Bearer {token}"}
                )
                return answer.status_code

            assert status(provider.token(first, sub="carol")) == 200
            registered = http.post(
                f"{server.url}/v1/files",
                headers={"Authorization": f"Bearer {provider.token(first, sub='carol')}"},
                json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 10},
            )
            assert registered.status_code == 201
            time.sleep(0.6)
            second = provider.new_key()  # rotated while the server runs
            assert status(provider.token(second, sub="carol")) == 200
            assert status(provider.token(first, audience="other")) == 401
            unpublished = provider.new_key(publish=False)
            refused = http.get(
                f"{server.url}/v1/files",
                headers={"Authorization": f"Bearer {provider.token(unpublished)}"},
            )
            assert refused.status_code == 401
            assert refused.json()["code"] == "UNAUTHENTICATED"
            # First use and the rotation; the unknown kid came within the refetch interval
            # of the rotation's fetch, so it was refused without asking the provider again.
            assert provider.jwks_requests == 2
            listed = http.get(
                f"{server.url}/v1/files",
                headers={"Authorization": f"Bearer {provider.token(second, sub='carol')}"},
            ).json()
            assert [f["filename"] for f in listed["files"]] == ["a.jpg"]  # carol's own file
