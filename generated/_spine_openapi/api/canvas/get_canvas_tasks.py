from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

if TYPE_CHECKING:
    from uuid import UUID

    from ...client import AuthenticatedClient, Client
    from ...models.error_envelope import ErrorEnvelope
    from ...models.task_tree_envelope import TaskTreeEnvelope
    from ...types import Response


def _get_kwargs(
    canvas_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/canvas/{canvas_id}/tasks".format(
            canvas_id=quote(str(canvas_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorEnvelope | TaskTreeEnvelope | None:

    from ... import errors
    from ...models.error_envelope import ErrorEnvelope
    from ...models.task_tree_envelope import TaskTreeEnvelope

    if response.status_code == 200:
        response_200 = TaskTreeEnvelope.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorEnvelope.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

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
) -> Response[ErrorEnvelope | TaskTreeEnvelope]:
    from ...types import Response

    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    canvas_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorEnvelope | TaskTreeEnvelope]:
    """Get the task tree

     The canvas's root tasks grouped by completion state, each with its subtree.

    Args:
        canvas_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | TaskTreeEnvelope]
    """

    kwargs = _get_kwargs(
        canvas_id=canvas_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    canvas_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorEnvelope | TaskTreeEnvelope | None:
    """Get the task tree

     The canvas's root tasks grouped by completion state, each with its subtree.

    Args:
        canvas_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | TaskTreeEnvelope
    """

    return sync_detailed(
        canvas_id=canvas_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    canvas_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorEnvelope | TaskTreeEnvelope]:
    """Get the task tree

     The canvas's root tasks grouped by completion state, each with its subtree.

    Args:
        canvas_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorEnvelope | TaskTreeEnvelope]
    """

    kwargs = _get_kwargs(
        canvas_id=canvas_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    canvas_id: UUID,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorEnvelope | TaskTreeEnvelope | None:
    """Get the task tree

     The canvas's root tasks grouped by completion state, each with its subtree.

    Args:
        canvas_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorEnvelope | TaskTreeEnvelope
    """

    return (
        await asyncio_detailed(
            canvas_id=canvas_id,
            client=client,
        )
    ).parsed
