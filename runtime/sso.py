"""Single sign-on with OpenID Connect (Authlib for the authorization-code flow with PKCE, joserfc
for the ID token's signature and claims).

Set on the server with environment variables:

- `CHATLOOM_OIDC_ISSUER`: the provider's issuer URL (its discovery document is read from
  `<issuer>/.well-known/openid-configuration`);
- `CHATLOOM_OIDC_CLIENT_ID` and `CHATLOOM_OIDC_CLIENT_SECRET`: the client registered there, with
  `<public address>/login/sso/callback` as its redirect URI;
- `CHATLOOM_OIDC_ROLE` (default `viewer`): the role of an account made at its first sign-in;
- `CHATLOOM_OIDC_NAME` (default "your company account"): the words on the sign-in button.

A person is matched to an account by their verified email address. The provider's word is taken
for who they are, never for what they may do: roles stay Chatloom's, given on the Users page.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from runtime.accounts import ROLES, AccountError, Accounts, Role, User
from runtime.workspaces import DEFAULT, Workspaces

PENDING_SECONDS = 600  # a sign-in started must come back within this
MAX_PENDING = 10_000


class SsoRefused(Exception):
    """The sign-in did not go through; the message says why in one sentence a person can act on."""


@dataclass(frozen=True)
class SsoConfig:
    issuer: str
    client_id: str
    client_secret: str
    role: Role = "viewer"
    name: str = "your company account"

    @classmethod
    def from_env(cls) -> SsoConfig | None:
        issuer = os.environ.get("CHATLOOM_OIDC_ISSUER", "").rstrip("/")
        if not issuer:
            return None
        role = os.environ.get("CHATLOOM_OIDC_ROLE", "viewer")
        if role not in ROLES or role == "owner":
            raise ValueError(
                f"CHATLOOM_OIDC_ROLE is {role!r}; choose one of {', '.join(r for r in ROLES if r != 'owner')}."
            )
        return cls(
            issuer=issuer,
            client_id=os.environ.get("CHATLOOM_OIDC_CLIENT_ID", ""),
            client_secret=os.environ.get("CHATLOOM_OIDC_CLIENT_SECRET", ""),
            role=role,
            name=os.environ.get("CHATLOOM_OIDC_NAME", "your company account"),
        )


@dataclass
class _Pending:
    verifier: str
    nonce: str
    next: str
    at: float


@dataclass
class SingleSignOn:
    config: SsoConfig
    accounts: Accounts
    workspaces: Workspaces
    clock: Any = time.time
    pending: dict[str, _Pending] = field(default_factory=dict)
    _discovery: dict[str, Any] | None = None

    async def _metadata(self) -> dict[str, Any]:
        if self._discovery is None:
            url = f"{self.config.issuer}/.well-known/openid-configuration"
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    answer = await http.get(url)
                    answer.raise_for_status()
                    found = answer.json()
            except (httpx.HTTPError, ValueError):
                raise SsoRefused(
                    "The sign-in provider could not be reached; try again, or sign in with a password."
                ) from None
            if found.get("issuer", "").rstrip("/") != self.config.issuer:
                raise SsoRefused("The sign-in provider names another issuer than the one configured.")
            self._discovery = found
        return self._discovery

    async def begin(self, redirect_uri: str, next_url: str) -> tuple[str, str]:
        """(where to send the browser to sign in: the provider's page with nonce and PKCE, the state
        that must come back, which the browser also keeps in a cookie)."""
        from authlib.common.security import generate_token
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        meta = await self._metadata()
        self._forget_stale()
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        self.pending[state] = _Pending(verifier, nonce, next_url, self.clock())
        client = AsyncOAuth2Client(
            self.config.client_id,
            self.config.client_secret,
            scope="openid email profile",
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
        await client.aclose()
        return str(url), state

    async def finish(self, state: str, code: str, redirect_uri: str) -> tuple[User, str, bool]:
        """(the account, where to go next, whether the account was made now) for the provider's answer."""
        from authlib.integrations.base_client.errors import OAuthError
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        started = self.pending.pop(state, None)
        if started is None or self.clock() - started.at > PENDING_SECONDS:
            raise SsoRefused("This sign-in link has expired or was used already; sign in again.")
        meta = await self._metadata()
        client = AsyncOAuth2Client(
            self.config.client_id,
            self.config.client_secret,
            redirect_uri=redirect_uri,
            token_endpoint_auth_method="client_secret_post",
        )
        try:
            token = await client.fetch_token(meta["token_endpoint"], code=code, code_verifier=started.verifier)
        except (OAuthError, httpx.HTTPError, ValueError):
            raise SsoRefused("The sign-in provider did not confirm the sign-in; sign in again.") from None
        finally:
            await client.aclose()
        claims = await self._verified(str(token.get("id_token", "")), started.nonce, meta)
        email = str(claims.get("email", "")).strip().casefold()
        if not email or claims.get("email_verified") is False:
            raise SsoRefused("The sign-in provider gave no verified email address for you.")
        user = self.accounts.by_email(email)
        made = False
        if user is None:
            try:
                user = self.accounts.create(
                    email, secrets.token_urlsafe(32), self.config.role, str(claims.get("name", ""))
                )
            except AccountError as exc:
                raise SsoRefused(str(exc)) from None
            self.workspaces.set_member(DEFAULT, user.id, True)  # where new people start; an admin moves them
            made = True
        if user.disabled:
            raise SsoRefused("Your account is disabled; ask an admin.")
        return user, started.next, made

    async def _verified(self, id_token: str, nonce: str, meta: dict[str, Any]) -> dict[str, Any]:
        """The ID token's claims, once its signature (the provider's published keys), issuer,
        audience, expiry and nonce are checked."""
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        try:
            async with httpx.AsyncClient(timeout=10) as http:
                keys = KeySet.import_key_set((await http.get(meta["jwks_uri"])).json())
            decoded = jwt.decode(id_token, keys, algorithms=["RS256", "ES256", "PS256"])
            jwt.JWTClaimsRegistry(
                now=int(self.clock()),
                iss={"essential": True, "value": self.config.issuer},
                aud={"essential": True, "value": self.config.client_id},
                nonce={"essential": True, "value": nonce},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, httpx.HTTPError, ValueError, KeyError):
            raise SsoRefused("The sign-in provider's answer could not be verified; sign in again.") from None
        return dict(decoded.claims)

    def _forget_stale(self) -> None:
        now = self.clock()
        for state in [s for s, p in self.pending.items() if now - p.at > PENDING_SECONDS]:
            del self.pending[state]
        while len(self.pending) >= MAX_PENDING:  # a flood of started sign-ins: the oldest go first
            del self.pending[next(iter(self.pending))]
