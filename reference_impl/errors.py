"""Domain errors that carry the HTTP answer the contract prescribes for them."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {body.get('error', '')}")
        self.status = status
        self.body = body


def not_found(what: str) -> ApiError:
    return ApiError(404, {"error": "not_found", "detail": f"{what} not found"})


def forbidden() -> ApiError:
    return ApiError(403, {"error": "forbidden", "detail": "this cart belongs to another user"})


def conflict(error: str, **extra: Any) -> ApiError:
    return ApiError(409, {"error": error, **extra})


def unprocessable(error: str, detail: str) -> ApiError:
    return ApiError(422, {"error": error, "detail": detail})


class DependencyDown(Exception):
    """PostgreSQL, Redis or Stripe is unreachable or timing out: answer 503, nothing half-done."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency}: {reason}")
        self.dependency = dependency
        self.reason = reason


class StripeRejected(Exception):
    """Stripe answered 4xx: our request was wrong, retrying will not help (502 to the client)."""

    def __init__(self, status: int, code: str | None) -> None:
        super().__init__(f"stripe rejected the request with {status} ({code})")
        self.status = status
        self.code = code
