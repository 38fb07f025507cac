"""Contains all the data models used in inputs/outputs"""

from .block_type import BlockType
from .canvas_dag import CanvasDAG
from .canvas_dag_envelope import CanvasDAGEnvelope
from .canvas_edge import CanvasEdge
from .canvas_node import CanvasNode
from .canvas_node_sources_item import CanvasNodeSourcesItem
from .create_run_envelope import CreateRunEnvelope
from .create_run_fields import CreateRunFields
from .create_run_request import CreateRunRequest
from .create_run_response import CreateRunResponse
from .error_envelope import ErrorEnvelope
from .get_run_envelope import GetRunEnvelope
from .get_run_response import GetRunResponse
from .run_artifact import RunArtifact
from .run_error import RunError
from .run_metadata import RunMetadata
from .run_progress import RunProgress
from .run_result import RunResult
from .run_status import RunStatus
from .task_node import TaskNode
from .task_node_envelope import TaskNodeEnvelope
from .task_tree import TaskTree
from .task_tree_envelope import TaskTreeEnvelope
from .task_type import TaskType
from .template import Template
from .webhook_event import WebhookEvent
from .webhook_event_data import WebhookEventData
from .webhook_event_data_object import WebhookEventDataObject

__all__ = (
    "BlockType",
    "CanvasDAG",
    "CanvasDAGEnvelope",
    "CanvasEdge",
    "CanvasNode",
    "CanvasNodeSourcesItem",
    "CreateRunEnvelope",
    "CreateRunFields",
    "CreateRunRequest",
    "CreateRunResponse",
    "ErrorEnvelope",
    "GetRunEnvelope",
    "GetRunResponse",
    "RunArtifact",
    "RunError",
    "RunMetadata",
    "RunProgress",
    "RunResult",
    "RunStatus",
    "TaskNode",
    "TaskNodeEnvelope",
    "TaskTree",
    "TaskTreeEnvelope",
    "TaskType",
    "Template",
    "WebhookEvent",
    "WebhookEventData",
    "WebhookEventDataObject",
)
