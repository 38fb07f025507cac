"""One test body for both clients: the ``api`` fixture runs each test with SpineClient and with
AsyncSpineClient, and ``api.call`` / ``api.collect`` hide whether a method must be awaited."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests._twins import Api, api_fixture

__all__ = ["KEY", "Api", "api"]

KEY = Api.key
api = api_fixture(Api)


@pytest.fixture
def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def envelope(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}


RUN_ID = "550e8400-e29b-41d4-a716-446655440000"
CANVAS_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
CREATED = {
    "run_id": RUN_ID,
    "status": "running",
    "poll_url": f"/v1/run/{RUN_ID}",
    "estimated_duration_ms": 900000,
}
RUNNING = {
    "run_id": RUN_ID,
    "status": "running",
    "canvas_id": CANVAS_ID,
    "progress": {"tasks_completed": 3, "tasks_total": 8, "elapsed_ms": 480000},
}
COMPLETED = {
    "run_id": RUN_ID,
    "status": "completed",
    "canvas_id": CANVAS_ID,
    "duration_ms": 927300,
    "result": {
        "final_output": "synthesized answer",
        "artifacts": [
            {
                "id": "7f1c2d3e-4b5a-4c6d-8e9f-0a1b2c3d4e5f",
                "type": "docx",
                "name": "Q1_Report.docx",
                "download_url": "https://files.example.com/x",
                "size_bytes": 245000,
            }
        ],
    },
    "metadata": {
        "template_used": "report",
        "models_used": ["anthropic/claude-sonnet-4-6"],
        "credits_consumed": 45,
    },
}
FAILED = {"run_id": RUN_ID, "status": "failed", "errors": [{"error": "Agent execution failed"}]}
