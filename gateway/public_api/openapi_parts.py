"""What the gateway's OpenAPI documents (the ministry API's, /api/v1's) share: an operation as
their tables list it, and the ``Retry-After`` of a limit passed or a service down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RETRY_AFTER = {
    "Retry-After": {"description": "Secondes à attendre.", "schema": {"type": "integer"}}
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    # What it answers and takes: a model (the ministry API), a schema's name (/api/v1); an
    # answer None is a file, a body "file" raw bytes.
    answer: Any
    status: int = 200
    body: Any = None
    parameters: list[dict[str, Any]] = field(default_factory=list)
    errors: tuple[int, ...] = ()
    # What an error means for this operation, where the document's table says too little.
    notes: dict[int, str] = field(default_factory=dict)
    example: dict[str, Any] | None = None  # of the body


def document(
    title: str, description: str, paths: dict[str, Any], version: str = "1.0.0"
) -> dict[str, Any]:
    """An OpenAPI 3.1 document of ``paths``, served from this site (its components to add)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": "/"}],
        "paths": paths,
    }


def paths_of(
    base: str, operations: list[Operation], build: Callable[[Operation], dict[str, Any]]
) -> dict[str, Any]:
    """The document's ``paths``: each operation under ``base``, as ``build`` writes it."""
    paths: dict[str, Any] = {}
    for op in operations:
        paths.setdefault(base + op.path, {})[op.method] = build(op)
    return paths


def spec_of(op: Operation, responses: dict[str, Any]) -> dict[str, Any]:
    """An operation's object in the document, its request body to add."""
    return {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.description,
        "parameters": op.parameters,
        "responses": responses,
    }
