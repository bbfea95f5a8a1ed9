"""Errors the sandbox answers with, in Talend's error body ``{status, message, detail, requestId}``."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer: raised anywhere in the sandbox, rendered as Talend's error body."""

    def __init__(self, status: int, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail


def not_found(kind: str, id: str) -> ApiError:
    """404 for an unknown object."""
    return ApiError(404, f"{kind} '{id}' not found", f"No {kind} with id '{id}' exists.")


def conflict(message: str, detail: str | None = None) -> ApiError:
    """409: the request conflicts with the current state."""
    return ApiError(409, message, detail)


def bad_request(message: str, detail: str | None = None) -> ApiError:
    """400: the request is malformed or invalid."""
    return ApiError(400, message, detail)
