from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import httpx

from ...types import UNSET

if TYPE_CHECKING:
    from ...client import AuthenticatedClient, Client
    from ...models.create_run_envelope import CreateRunEnvelope
    from ...models.create_run_fields import CreateRunFields
    from ...models.create_run_request import CreateRunRequest
    from ...models.error_envelope import ErrorEnvelope
    from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: CreateRunRequest | CreateRunFields | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:

    from ...models.create_run_fields import CreateRunFields
    from ...models.create_run_request import CreateRunRequest
    from ...types import Unset

    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/run",
    }

    if isinstance(body, CreateRunRequest):
        _kwargs["files"] = body.to_multipart()

        headers["Content-Type"] = "multipart/form-data; boundary=+++"
    if isinstance(body, CreateRunFields):
        _kwargs["data"] = body.to_dict()
        headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreateRunEnvelope | ErrorEnvelope | None:

    from ... import errors
    from ...models.create_run_envelope import CreateRunEnvelope
    from ...models.error_envelope import ErrorEnvelope

    if response.status_code == 200:
        response_200 = CreateRunEnvelope.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 409:
        response_409 = ErrorEnvelope.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ErrorEnvelope.from_dict(response.json())

        return response_413

    if response.status_code == 429:
        response_429 = ErrorEnvelope.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ErrorEnvelope.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CreateRunEnvelope | ErrorEnvelope]:
    from ...types import Response

    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateRunRequest | CreateRunFields | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[CreateRunEnvelope | ErrorEnvelope]:
    """Create a run

     Submits a prompt. The run executes asynchronously: poll `GET /v1/run/{run_id}` until
    its status is terminal. Each run costs credits. Spine documents no way to deduplicate a
    repeated request; this SDK sends an `Idempotency-Key` so that a server that honours it
    can (see the parameter).

    Args:
        idempotency_key (str | Unset):
        body (CreateRunRequest): The form fields of `POST /v1/run` as multipart/form-data.
        body (CreateRunFields): The form fields of `POST /v1/run` as application/x-www-form-
            urlencoded (no files):
            the fields of `CreateRunRequest` without `files`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateRunEnvelope | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CreateRunRequest | CreateRunFields | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> CreateRunEnvelope | ErrorEnvelope | None:
    """Create a run

     Submits a prompt. The run executes asynchronously: poll `GET /v1/run/{run_id}` until
    its status is terminal. Each run costs credits. Spine documents no way to deduplicate a
    repeated request; this SDK sends an `Idempotency-Key` so that a server that honours it
    can (see the parameter).

    Args:
        idempotency_key (str | Unset):
        body (CreateRunRequest): The form fields of `POST /v1/run` as multipart/form-data.
        body (CreateRunFields): The form fields of `POST /v1/run` as application/x-www-form-
            urlencoded (no files):
            the fields of `CreateRunRequest` without `files`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateRunEnvelope | ErrorEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreateRunRequest | CreateRunFields | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> Response[CreateRunEnvelope | ErrorEnvelope]:
    """Create a run

     Submits a prompt. The run executes asynchronously: poll `GET /v1/run/{run_id}` until
    its status is terminal. Each run costs credits. Spine documents no way to deduplicate a
    repeated request; this SDK sends an `Idempotency-Key` so that a server that honours it
    can (see the parameter).

    Args:
        idempotency_key (str | Unset):
        body (CreateRunRequest): The form fields of `POST /v1/run` as multipart/form-data.
        body (CreateRunFields): The form fields of `POST /v1/run` as application/x-www-form-
            urlencoded (no files):
            the fields of `CreateRunRequest` without `files`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreateRunEnvelope | ErrorEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreateRunRequest | CreateRunFields | Unset = UNSET,
    idempotency_key: str | Unset = UNSET,
) -> CreateRunEnvelope | ErrorEnvelope | None:
    """Create a run

     Submits a prompt. The run executes asynchronously: poll `GET /v1/run/{run_id}` until
    its status is terminal. Each run costs credits. Spine documents no way to deduplicate a
    repeated request; this SDK sends an `Idempotency-Key` so that a server that honours it
    can (see the parameter).

    Args:
        idempotency_key (str | Unset):
        body (CreateRunRequest): The form fields of `POST /v1/run` as multipart/form-data.
        body (CreateRunFields): The form fields of `POST /v1/run` as application/x-www-form-
            urlencoded (no files):
            the fields of `CreateRunRequest` without `files`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreateRunEnvelope | ErrorEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
