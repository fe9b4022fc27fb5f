"""Map domain and database errors to HTTP answers: always ``{"detail": reason}``, never a 500 for bad input."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from control_plane.repos.errors import Conflict, DomainError, Invalid, NotFound

logger = logging.getLogger(__name__)

_STATUS: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    Invalid: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    code = next((c for kind, c in _STATUS.items() if isinstance(exc, kind)), status.HTTP_400_BAD_REQUEST)
    return JSONResponse({"detail": exc.reason}, status_code=code)


def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A race between two writers (the repos check first); the constraint name is enough to debug.
    logger.warning(
        "integrity error on %s %s: %s", request.method, request.url.path, type(exc.__cause__).__name__
    )
    return JSONResponse(
        {"detail": "the write conflicts with an existing item (duplicate name or still referenced)"},
        status_code=status.HTTP_409_CONFLICT,
    )


def install(app: FastAPI) -> None:
    """Register the error handlers on ``app``."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
