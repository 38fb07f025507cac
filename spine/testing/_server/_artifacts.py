"""Real, minimal files for the sandbox's artifacts.

Every builder returns the complete bytes of a small but valid file: Office Open XML packages
(``.docx``, ``.xlsx``, ``.pptx``) written with :mod:`zipfile`, a PNG written by hand with
:mod:`zlib`, and an HTML page. Output is deterministic: the same inputs give the same bytes,
so ``size_bytes`` announced in a run equals the length that is later served.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from io import BytesIO
from xml.sax.saxutils import escape

__all__ = ["ARTIFACT_KINDS", "ArtifactKind", "build_artifact"]

_FIXED_DATE = (2024, 1, 1, 0, 0, 0)
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_NS_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_NS_P = "http://schemas.openxmlformats.org/presentationml/2006/main"


@dataclass(frozen=True)
class ArtifactKind:
    """What an output block produces: the API's short type tag, extension and media type."""

    tag: str
    extension: str
    content_type: str
    label: str


ARTIFACT_KINDS: dict[str, ArtifactKind] = {
    "document-block": ArtifactKind(
        "docx",
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Report",
    ),
    "memo-block": ArtifactKind(
        "docx",
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Memo",
    ),
    "excel-block": ArtifactKind(
        "xlsx",
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Workbook",
    ),
    "presentation-block": ArtifactKind(
        "pptx",
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "Slides",
    ),
    "app-block": ArtifactKind("html", "html", "text/html; charset=utf-8", "App"),
    "landing-page-block": ArtifactKind("html", "html", "text/html; charset=utf-8", "Landing_Page"),
    "prototype-block": ArtifactKind("html", "html", "text/html; charset=utf-8", "Prototype"),
    "image-block": ArtifactKind("png", "png", "image/png", "Image"),
}
"""Output block type → the artifact it produces (the fallback summary uses ``html``)."""

SUMMARY_KIND = ArtifactKind("html", "html", "text/html; charset=utf-8", "Summary")


def build_artifact(kind: ArtifactKind, title: str, lines: list[str], seed: int) -> bytes:
    """Build the bytes of one artifact of ``kind`` about ``title``, with ``lines`` of body text."""
    if kind.extension == "docx":
        return _docx(title, lines)
    if kind.extension == "xlsx":
        return _xlsx(title, lines)
    if kind.extension == "pptx":
        return _pptx(title, lines)
    if kind.extension == "png":
        return _png(96, 64, seed)
    return _html(title, lines)


# ----------------------------------------------------------------------------- zip helpers


def _zip(parts: list[tuple[str, str]]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts:
            info = zipfile.ZipInfo(name, date_time=_FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


def _content_types(overrides: dict[str, str]) -> str:
    items = "".join(
        f'<Override PartName="{part}" ContentType="{ctype}"/>' for part, ctype in overrides.items()
    )
    return (
        f'{_XML_DECL}<Types xmlns="{_CT_NS}">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f"{items}</Types>"
    )


def _rels(relations: list[tuple[str, str, str]]) -> str:
    items = "".join(
        f'<Relationship Id="{rid}" Type="{_OFFICE_REL}/{rtype}" Target="{target}"/>'
        for rid, rtype, target in relations
    )
    return f'{_XML_DECL}<Relationships xmlns="{_PKG_RELS}">{items}</Relationships>'


def _core_props(title: str) -> str:
    return (
        f"{_XML_DECL}<cp:coreProperties "
        'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>Spine sandbox</dc:creator>"
        "</cp:coreProperties>"
    )


_CORE_CT = "application/vnd.openxmlformats-package.core-properties+xml"


def _package_rels(main_type: str, main_target: str) -> str:
    items = (
        f'<Relationship Id="rId1" Type="{_OFFICE_REL}/{main_type}" Target="{main_target}"/>'
        '<Relationship Id="rId2" '
        f'Type="{_PKG_RELS}/metadata/core-properties" Target="docProps/core.xml"/>'
    )
    return f'{_XML_DECL}<Relationships xmlns="{_PKG_RELS}">{items}</Relationships>'


# ----------------------------------------------------------------------------- docx


def _docx(title: str, lines: list[str]) -> bytes:
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    paragraphs = [
        f'<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:rPr><w:b/><w:sz w:val="40"/>'
        f"</w:rPr><w:t>{escape(title)}</w:t></w:r></w:p>"
    ]
    paragraphs += [
        f'<w:p><w:r><w:t xml:space="preserve">{escape(line)}</w:t></w:r></w:p>' for line in lines
    ]
    document = (
        f'{_XML_DECL}<w:document xmlns:w="{ns}"><w:body>{"".join(paragraphs)}'
        '<w:sectPr><w:pgSz w:w="12240" w:h="15840"/></w:sectPr></w:body></w:document>'
    )
    main_ct = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    return _zip(
        [
            ("[Content_Types].xml", _content_types(
                {"/word/document.xml": main_ct, "/docProps/core.xml": _CORE_CT}
            )),
            ("_rels/.rels", _package_rels("officeDocument", "word/document.xml")),
            ("docProps/core.xml", _core_props(title)),
            ("word/document.xml", document),
        ]
    )


# ----------------------------------------------------------------------------- xlsx


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _xlsx(title: str, lines: list[str]) -> bytes:
    ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rows: list[list[str | int]] = [["Item", "Detail", "Value"]]
    rows += [[f"Finding {i + 1}", line, (i + 1) * 125] for i, line in enumerate(lines)]
    rows.append(["Total", "", sum(int(r[2]) for r in rows[1:])])
    xml_rows = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{_column(c)}{r}"
            if isinstance(value, int):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
    sheet = (
        f'{_XML_DECL}<worksheet xmlns="{ns}"><sheetData>{"".join(xml_rows)}</sheetData></worksheet>'
    )
    sheet_name = escape(title[:31] or "Sheet1", {'"': "&quot;"})
    workbook = (
        f'{_XML_DECL}<workbook xmlns="{ns}" xmlns:r="{_OFFICE_REL}"><sheets>'
        f'<sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    return _zip(
        [
            ("[Content_Types].xml", _content_types(
                {
                    "/xl/workbook.xml":
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                    "/xl/worksheets/sheet1.xml":
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
                    "/docProps/core.xml": _CORE_CT,
                }
            )),
            ("_rels/.rels", _package_rels("officeDocument", "xl/workbook.xml")),
            ("docProps/core.xml", _core_props(title)),
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", _rels([("rId1", "worksheet", "worksheets/sheet1.xml")])),
            ("xl/worksheets/sheet1.xml", sheet),
        ]
    )


# ----------------------------------------------------------------------------- pptx

_SCHEME_COLORS = [
    ("dk1", '<a:sysClr val="windowText" lastClr="000000"/>'),
    ("lt1", '<a:sysClr val="window" lastClr="FFFFFF"/>'),
    ("dk2", '<a:srgbClr val="1F2937"/>'),
    ("lt2", '<a:srgbClr val="F3F4F6"/>'),
    ("accent1", '<a:srgbClr val="2563EB"/>'),
    ("accent2", '<a:srgbClr val="16A34A"/>'),
    ("accent3", '<a:srgbClr val="F59E0B"/>'),
    ("accent4", '<a:srgbClr val="DC2626"/>'),
    ("accent5", '<a:srgbClr val="7C3AED"/>'),
    ("accent6", '<a:srgbClr val="0891B2"/>'),
    ("hlink", '<a:srgbClr val="1D4ED8"/>'),
    ("folHlink", '<a:srgbClr val="6D28D9"/>'),
]


def _theme() -> str:
    colors = "".join(f"<a:{name}>{value}</a:{name}>" for name, value in _SCHEME_COLORS)
    fill = '<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>'
    line = f'<a:ln w="9525">{fill}</a:ln>'
    effect = "<a:effectStyle><a:effectLst/></a:effectStyle>"
    fonts = '<a:latin typeface="Calibri"/><a:ea typeface=""/><a:cs typeface=""/>'
    return (
        f'{_XML_DECL}<a:theme xmlns:a="{_NS_A}" name="Sandbox"><a:themeElements>'
        f'<a:clrScheme name="Sandbox">{colors}</a:clrScheme>'
        f'<a:fontScheme name="Sandbox"><a:majorFont>{fonts}</a:majorFont>'
        f"<a:minorFont>{fonts}</a:minorFont></a:fontScheme>"
        f'<a:fmtScheme name="Sandbox"><a:fillStyleLst>{fill * 3}</a:fillStyleLst>'
        f"<a:lnStyleLst>{line * 3}</a:lnStyleLst>"
        f"<a:effectStyleLst>{effect * 3}</a:effectStyleLst>"
        f"<a:bgFillStyleLst>{fill * 3}</a:bgFillStyleLst></a:fmtScheme>"
        "</a:themeElements></a:theme>"
    )


_EMPTY_TREE = (
    '<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>'
    "<p:grpSpPr/>"
)
_CLR_MAP = (
    '<p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" '
    'accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" '
    'folHlink="folHlink"/>'
)


def _text_box(shape_id: int, name: str, y: int, height: int, size: int, texts: list[str]) -> str:
    paragraphs = "".join(
        f'<a:p><a:r><a:rPr lang="en-US" sz="{size}"/><a:t>{escape(text)}</a:t></a:r></a:p>'
        for text in texts
    )
    return (
        f'<p:sp><p:nvSpPr><p:cNvPr id="{shape_id}" name="{name}"/><p:cNvSpPr txBox="1"/>'
        "<p:nvPr/></p:nvSpPr>"
        f'<p:spPr><a:xfrm><a:off x="457200" y="{y}"/><a:ext cx="8229600" cy="{height}"/>'
        '</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr>'
        f'<p:txBody><a:bodyPr wrap="square"/><a:lstStyle/>{paragraphs}</p:txBody></p:sp>'
    )


def _pptx(title: str, lines: list[str]) -> bytes:
    ns = f'xmlns:a="{_NS_A}" xmlns:r="{_OFFICE_REL}" xmlns:p="{_NS_P}"'
    slides_content: list[tuple[str, list[str]]] = [(title, ["Prepared by the Spine sandbox"])]
    slides_content += [(f"Key point {i + 1}", [line]) for i, line in enumerate(lines[:4])]
    slides = []
    for heading, body in slides_content:
        tree = (
            _EMPTY_TREE
            + _text_box(2, "Title", 457200, 1143000, 3200, [heading])
            + _text_box(3, "Body", 1828800, 4114800, 2000, body)
        )
        slides.append(
            f"{_XML_DECL}<p:sld {ns}><p:cSld><p:spTree>{tree}</p:spTree></p:cSld>"
            "<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>"
        )
    n = len(slides)
    master = (
        f"{_XML_DECL}<p:sldMaster {ns}><p:cSld><p:spTree>{_EMPTY_TREE}</p:spTree></p:cSld>"
        f'{_CLR_MAP}<p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rId1"/>'
        "</p:sldLayoutIdLst></p:sldMaster>"
    )
    layout = (
        f'{_XML_DECL}<p:sldLayout {ns} preserve="1"><p:cSld name="Blank"><p:spTree>'
        f"{_EMPTY_TREE}</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr>"
        "</p:sldLayout>"
    )
    slide_ids = "".join(f'<p:sldId id="{256 + i}" r:id="rId{i + 2}"/>' for i in range(n))
    presentation = (
        f"{_XML_DECL}<p:presentation {ns}>"
        '<p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rId1"/></p:sldMasterIdLst>'
        f"<p:sldIdLst>{slide_ids}</p:sldIdLst>"
        '<p:sldSz cx="9144000" cy="6858000" type="screen4x3"/>'
        '<p:notesSz cx="6858000" cy="9144000"/></p:presentation>'
    )
    pres_rels = [("rId1", "slideMaster", "slideMasters/slideMaster1.xml")]
    pres_rels += [(f"rId{i + 2}", "slide", f"slides/slide{i + 1}.xml") for i in range(n)]
    pres_rels.append((f"rId{n + 2}", "theme", "theme/theme1.xml"))
    pml = "application/vnd.openxmlformats-officedocument.presentationml"
    overrides = {
        "/ppt/presentation.xml": f"{pml}.presentation.main+xml",
        "/ppt/slideMasters/slideMaster1.xml": f"{pml}.slideMaster+xml",
        "/ppt/slideLayouts/slideLayout1.xml": f"{pml}.slideLayout+xml",
        "/ppt/theme/theme1.xml": "application/vnd.openxmlformats-officedocument.theme+xml",
        "/docProps/core.xml": _CORE_CT,
    }
    overrides.update({f"/ppt/slides/slide{i + 1}.xml": f"{pml}.slide+xml" for i in range(n)})
    parts = [
        ("[Content_Types].xml", _content_types(overrides)),
        ("_rels/.rels", _package_rels("officeDocument", "ppt/presentation.xml")),
        ("docProps/core.xml", _core_props(title)),
        ("ppt/presentation.xml", presentation),
        ("ppt/_rels/presentation.xml.rels", _rels(pres_rels)),
        ("ppt/slideMasters/slideMaster1.xml", master),
        (
            "ppt/slideMasters/_rels/slideMaster1.xml.rels",
            _rels(
                [
                    ("rId1", "slideLayout", "../slideLayouts/slideLayout1.xml"),
                    ("rId2", "theme", "../theme/theme1.xml"),
                ]
            ),
        ),
        ("ppt/slideLayouts/slideLayout1.xml", layout),
        (
            "ppt/slideLayouts/_rels/slideLayout1.xml.rels",
            _rels([("rId1", "slideMaster", "../slideMasters/slideMaster1.xml")]),
        ),
        ("ppt/theme/theme1.xml", _theme()),
    ]
    for i, slide in enumerate(slides):
        parts.append((f"ppt/slides/slide{i + 1}.xml", slide))
        parts.append(
            (
                f"ppt/slides/_rels/slide{i + 1}.xml.rels",
                _rels([("rId1", "slideLayout", "../slideLayouts/slideLayout1.xml")]),
            )
        )
    return _zip(parts)


# ----------------------------------------------------------------------------- png


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png(width: int, height: int, seed: int) -> bytes:
    r0, g0, b0 = (seed >> 16) & 0xFF, (seed >> 8) & 0xFF, seed & 0xFF
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            rows += bytes(
                (
                    (r0 + 2 * x) & 0xFF,
                    (g0 + 3 * y) & 0xFF,
                    (b0 + x + y) & 0xFF,
                )
            )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


# ----------------------------------------------------------------------------- html


def _html(title: str, lines: list[str]) -> bytes:
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    page = (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head>\n"
        f"<body><main><h1>{escape(title)}</h1><ul>{items}</ul>"
        "<p>Generated by the Spine sandbox.</p></main></body>\n</html>\n"
    )
    return page.encode("utf-8")
