"""A tiny OpenID Connect provider on loopback: discovery, a JWKS that rotates, and tokens.

Real HTTP (``http.server`` in a thread). It counts the key-set requests it answered, can
be taken down (503 for everything) and can rotate: a new key published, an old one
withdrawn. Tokens are signed with its RSA keys.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.loopback import serving


@dataclass
class Provider:
    """The provider's state; ``issuer`` is its base URL."""

    issuer: str = ""
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    jwks_requests: int = 0
    down: bool = False

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def new_key(self, *, publish: bool = True) -> str:
        """Make a signing key; publish it in the JWKS unless told not to. Its ``kid``."""
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.append(kid)
        return kid

    def withdraw(self, kid: str) -> None:
        self.published.remove(kid)

    def token(self, kid: str, *, audience: str = "filegate", **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": audience, "sub": "alice", "iat": now, "exp": now + 300}
        body.update(claims)
        return jwt.encode(body, self.keys[kid], algorithm="RS256", headers={"kid": kid})

    def jwks(self) -> dict[str, Any]:
        entries = []
        for kid in self.published:
            entry = json.loads(RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            entries.append({**entry, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": entries}


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if provider.down:
                return self._answer(503, {"error": "down"})
            if self.path == "/.well-known/openid-configuration":
                return self._answer(200, {"issuer": provider.issuer, "jwks_uri": provider.jwks_url})
            if self.path == "/jwks":
                provider.jwks_requests += 1
                return self._answer(200, provider.jwks())
            return self._answer(404, {})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet

    return Handler


@contextmanager
def running_provider() -> Iterator[Provider]:
    """A provider serving on a free loopback port until the block ends."""
    provider = Provider()
    with serving(_handler(provider)) as url:
        provider.issuer = url
        yield provider
