"""A fake OpenID Connect provider: discovery, an authorization page that signs in a chosen person
at once, a token endpoint that checks the code, the client secret and PKCE, and its signing keys.

ID tokens are signed RS256 with a key made per fake (joserfc), so the server under test verifies
them the way it would a real provider's.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route


class FakeOidc:
    def __init__(self, client_id: str, client_secret: str) -> None:
        self.url = ""
        self.client_id, self.client_secret = client_id, client_secret
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "alg": "RS256", "use": "sig"})
        self.person: dict[str, Any] = {
            "sub": "u-1",
            "email": "grace@example.com",
            "email_verified": True,
            "name": "Grace",
        }
        self.codes: dict[str, dict[str, Any]] = {}
        self.tamper: str = ""  # "nonce", "audience", "signature", "expired": a bad token, for the refusals

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def discovery(self, _: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(self, request: Request) -> Any:
        q = request.query_params
        if q.get("client_id") != self.client_id or q.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "nonce": q.get("nonce"),
            "challenge": q.get("code_challenge"),
            "redirect_uri": q.get("redirect_uri"),
        }
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q.get('state', '')})}", 302)

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        grant = self.codes.pop(str(form.get("code")), None)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if grant is None or grant["challenge"] != challenge or grant["redirect_uri"] != form.get("redirect_uri"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": "someone-else" if self.tamper == "audience" else self.client_id,
            "iat": now,
            "exp": now - 60 if self.tamper == "expired" else now + 300,
            "nonce": "another" if self.tamper == "nonce" else grant["nonce"],
            **self.person,
        }
        key = RSAKey.generate_key(2048) if self.tamper == "signature" else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "id_token": id_token})

    async def jwks(self, _: Request) -> JSONResponse:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))
