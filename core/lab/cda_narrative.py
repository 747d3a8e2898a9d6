"""A CDA R2 narrative block (section/text) as plain text: paragraphs, lists, tables as rows of cells.

    narrative_text(section_text_element) -> "BILAN THYROIDIEN | Résultats | Valeurs de référence\n..."
    content_by_id(root) -> {"resultat-01": "Thyréostimuline (TSH)", ...}   (what originalText references point at)

The narrative is what a person must be able to read (CDA R2 §4.3.5): pli
shows it as text in the terminal.  Tables become one line per row, cells
separated by " | "; lists become "- " lines; <br/> a line break;
<renderMultiMedia/> a bracketed note, as the terminal cannot show the image.
"""
from __future__ import annotations

import re
from xml.etree.ElementTree import Element

from pli.core.safe_xml import ns_tag

MAX_DEPTH = 64          # CDA narratives nest a few levels; deeper is a crafted document
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_BLOCKS = {"paragraph", "list", "table", "caption"}


class NarrativeTooDeep(ValueError):
    """Nesting deeper than MAX_DEPTH."""


def narrative_text(text: Element | None) -> str:
    """The narrative block as lines of text, blank lines between blocks, no trailing spaces."""
    if text is None:
        return ""
    lines: list[str] = []
    _block(text, lines, 0)
    return _tidy(lines)


def content_by_id(root: Element) -> dict[str, str]:
    """Inline text of every narrative element carrying an ID (content, td, paragraph...), by that ID."""
    found = {}
    for element in root.iter():
        ident = element.get("ID")
        if ident:
            found[ident] = _inline(element, 0).strip()
    return found


def _block(element: Element, lines: list[str], depth: int) -> None:
    """Walk `element`'s children: inline runs join into one line, blocks start their own."""
    if depth > MAX_DEPTH:
        raise NarrativeTooDeep()
    run = [element.text or ""]
    for child in element:
        name = ns_tag(child)[1]
        if name in _BLOCKS:
            _flush(run, lines)
            _render_block(name, child, lines, depth + 1)
            run = [child.tail or ""]
        elif name == "br":
            run.append("\n")
            run.append(child.tail or "")
        else:
            run.append(_inline(child, depth + 1))
            run.append(child.tail or "")
    _flush(run, lines)


def _render_block(name: str, element: Element, lines: list[str], depth: int) -> None:
    if name == "table":
        _table(element, lines, depth)
    elif name == "list":
        for item in element:
            if ns_tag(item)[1] == "item":
                item_lines: list[str] = []
                _block(item, item_lines, depth + 1)
                lines.extend(f"- {line}" if i == 0 else f"  {line}"
                             for i, line in enumerate(x for x in item_lines if x))
    else:
        _block(element, lines, depth)
    lines.append("")


def _table(table: Element, lines: list[str], depth: int) -> None:
    for part in table.iter():
        name = ns_tag(part)[1]
        if name == "caption":
            lines.append(_inline(part, depth + 1).strip())
        elif name == "tr":
            cells = [_squash(_inline(cell, depth + 1)) for cell in part if ns_tag(cell)[1] in ("td", "th")]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                lines.append(" | ".join(cells))


def _inline(element: Element, depth: int) -> str:
    if depth > MAX_DEPTH:
        raise NarrativeTooDeep()
    name = ns_tag(element)[1]
    if name == "br":
        return "\n"
    if name == "renderMultiMedia":
        return "[attached media: not shown in the terminal]"
    if name == "footnoteRef":
        return ""
    parts = [element.text or ""]
    for child in element:
        parts.append(_inline(child, depth + 1))
        parts.append(child.tail or "")
    text = "".join(parts)
    return f"\n{text}\n" if name in _BLOCKS or name in ("item", "tr") else text


def _flush(run: list[str], lines: list[str]) -> None:
    for piece in "".join(run).split("\n"):
        piece = _squash(piece)
        if piece:
            lines.append(piece)
    run.clear()


def _squash(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _tidy(lines: list[str]) -> str:
    """No leading/trailing blank lines, never two blank lines in a row."""
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)
