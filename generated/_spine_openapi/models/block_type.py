from enum import StrEnum


class BlockType(StrEnum):
    APP = "app-block"
    DEEP_RESEARCH = "deep-research-block"
    DOCUMENT = "document-block"
    EXCEL = "excel-block"
    FILE = "file-block"
    IMAGE = "image-block"
    LANDING_PAGE = "landing-page-block"
    LIST = "list-block"
    MEMO = "memo-block"
    PRESENTATION = "presentation-block"
    PROMPT = "prompt-block"
    PROTOTYPE = "prototype-block"
    TABLE = "table-block"
    TEXT = "text-block"
    WEB = "web-block"
    WEB_RESEARCH = "web-research-block"
    YOUTUBE = "yt-block"

    def __str__(self) -> str:
        return str(self.value)
