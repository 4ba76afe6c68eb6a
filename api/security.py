"""Bearer tokens by scope, and the keyed hash that stands in for a date of birth."""

import hashlib
import hmac
from datetime import date
from enum import Enum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.config import Settings
from api.deps import context_of

_bearer = HTTPBearer(auto_error=False, description="Jeton d'accès de l'appelant.")


class Scope(str, Enum):
    """Who may call what: each caller has its own token."""

    assistant = "assistant"
    instruction = "instruction"
    admin = "admin"


def hash_birth_date(key: str, birth_date: date) -> str:
    """Return the HMAC-SHA256 of an ISO date: comparable, not reversible without the key."""
    return hmac.new(key.encode(), birth_date.isoformat().encode(), hashlib.sha256).hexdigest()


def _token_for(settings: Settings, scope: Scope) -> str:
    return {
        Scope.assistant: settings.assistant_token,
        Scope.instruction: settings.instruction_token,
        Scope.admin: settings.admin_token,
    }[scope]


def require_scope(*scopes: Scope):  # type: ignore[no-untyped-def]
    """Build a dependency that accepts only the bearer token of one of `scopes`."""

    async def check(  # async: a constant-time compare needs no thread of its own
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Scope:
        settings = context_of(request).settings
        given = (credentials.credentials if credentials else "").encode()
        matched = None
        for scope in scopes:  # every scope is compared, in constant time each
            expected = _token_for(settings, scope)
            if hmac.compare_digest(given, expected.encode()) and expected:
                matched = scope
        if matched is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="Jeton absent ou invalide.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return matched

    return check
