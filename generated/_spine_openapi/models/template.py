from enum import StrEnum


class Template(StrEnum):
    APP = "app"
    AUTO = "auto"
    DEEP_RESEARCH = "deep_research"
    EXCEL = "excel"
    LANDING_PAGE = "landing_page"
    MEMO = "memo"
    REPORT = "report"
    SLIDES = "slides"

    def __str__(self) -> str:
        return str(self.value)
