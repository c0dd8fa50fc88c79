"""Plain text from reStructuredText (the Python documentation's ``.rst.txt`` sources).

Roughly what a reader sees on the rendered page: roles become their text
(``:func:`~os.path.join``` -> ``join``), inline markup loses its asterisks and
backquotes, section underlines and table borders go, and directives are
handled by kind: API signatures (``.. function:: getenv(key)``) keep their
signature line and body, admonitions keep their body, version notes become
Sphinx's sentence ("Changed in version 3.9."), and bookkeeping directives
(index, toctree, module, comments, link targets ...) disappear with their
options. Code in literal blocks is kept, since it is part of the documentation.
"""

from __future__ import annotations

import re
import textwrap

_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:.-]+)::\s*(.*)$")
_COMMENT = re.compile(r"^(\s*)\.\.(?:\s|$)")
_OPTION = re.compile(r"^\s+:[\w -]+:(?:\s|$)")
_UNDERLINE = re.compile(r"""^\s*([=\-`:'"~^_*+#<>.])\1{2,}\s*$""")
_SIMPLE_TABLE = re.compile(r"^\s*=+(?:\s+=+)+\s*$")
_GRID_BORDER = re.compile(r"^\s*\+[-=+]+\+\s*$")

SIGNATURES = {"function", "method", "class", "attribute", "data", "exception", "decorator",
              "decoratormethod", "classmethod", "staticmethod", "coroutinefunction",
              "coroutinemethod", "abstractmethod", "opcode", "cmdoption", "option", "envvar",
              "describe", "object", "pdbcommand", "c:function", "c:macro", "c:type", "c:member",
              "c:var", "c:struct"}
KEEP_BODY = {"note", "warning", "seealso", "tip", "important", "caution", "attention", "hint",
             "danger", "error", "admonition", "topic", "sidebar", "rubric", "impl-detail",
             "code-block", "code", "sourcecode", "doctest", "testcode", "testoutput", "epigraph",
             "centered", "glossary", "hlist", "versionadded", "versionchanged", "deprecated",
             "deprecated-removed", "availability", "table", "list-table", "productionlist",
             "container", "only", "line-block", "parsed-literal", "highlights", "pull-quote"}
VERSION_WORDS = {"versionadded": "New in version {}.", "versionchanged": "Changed in version {}.",
                 "deprecated": "Deprecated since version {}.",
                 "deprecated-removed": "Deprecated since version {}, removed in version {}.",
                 "availability": "Availability: {}."}

_ROLE = re.compile(r":(?:[\w-]+:)*([\w-]+):`([^`]*)`")
_LINK = re.compile(r"`([^`<]*?)\s*<[^`>]*>`__?")
_REF = re.compile(r"`([^`]+)`__?")
_LITERAL = re.compile(r"``([^`]+)``")
_STRONG = re.compile(r"\*\*([^*]+)\*\*")
_EMPH = re.compile(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])")
_FOOTNOTE = re.compile(r"\s?\[(?:#\w*|\d+|\*)\]_")
_SUBST = re.compile(r"\|(\w[\w -]*)\|")


def role_text(body: str) -> str:
    """The visible text of a role: a title before ``<target>``, else the target's last part
    when it starts with ``~``; ``!`` (no link) is dropped."""
    m = re.match(r"^(.*?)\s*<[^>]*>$", body, re.S)
    if m and m.group(1):
        return m.group(1)
    body = body.lstrip("!")
    if body.startswith("~"):
        return body[1:].rsplit(".", 1)[-1]
    return body


def _role(m: re.Match) -> str:
    name, body = m.group(1), role_text(m.group(2))
    # Sphinx shows :pep:`8` as "PEP 8" and :rfc:`2822` as "RFC 2822".
    return f"{name.upper()} {body}" if name in ("pep", "rfc") and body[:1].isdigit() else body


def inline(text: str) -> str:
    """Strip inline markup from a line (roles, literals, emphasis, links, footnotes)."""
    text = _ROLE.sub(_role, text)
    text = _LITERAL.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF.sub(r"\1", text)
    text = _STRONG.sub(r"\1", text)
    text = _EMPH.sub(r"\1", text)
    text = _FOOTNOTE.sub("", text)
    return _SUBST.sub(r"\1", text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def strip_rst(text: str) -> str:
    """Plain text of an reST document (see the module docstring for what is kept)."""
    # Inline markup last and on the whole text: roles may span lines.
    return inline(_blocks(text)).strip() + "\n"


def _blocks(text: str) -> str:
    """Block-level pass: directives, underlines, tables, literal-block markers."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = _DIRECTIVE.match(line)
        if m or _COMMENT.match(line):
            i = _directive(lines, i, m, out)
            continue
        if _UNDERLINE.match(line) or _SIMPLE_TABLE.match(line) or _GRID_BORDER.match(line):
            i += 1
            continue
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
            line = " ".join(cell.strip() for cell in stripped.strip("|").split("|"))
        if line.rstrip().endswith("::"):
            # Sphinx renders "Example::" as "Example:" and a lone "::" as nothing.
            line = line.rstrip()[:-2].rstrip()
            line = line + ":" if line.strip() else ""
        out.append(line.rstrip())
        i += 1
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


def _directive(lines: list[str], i: int, m: re.Match | None, out: list[str]) -> int:
    """Handle the directive (or comment) at ``lines[i]``; returns the next line to read."""
    base = _indent(lines[i])
    name = m.group(2).lower() if m else ""
    arg = m.group(3).strip() if m else ""
    j = i + 1
    extra_sigs: list[str] = []
    while (name in SIGNATURES and j < len(lines) and lines[j].strip()
           and _indent(lines[j]) > base and not _OPTION.match(lines[j])):
        extra_sigs.append(lines[j].strip())  # more signatures of the same entry
        j += 1
    while j < len(lines) and _OPTION.match(lines[j]) and _indent(lines[j]) > base:
        j += 1  # directive options such as ":synopsis:" or ":noindex:"
    end = j
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > base):
        end += 1
    body = lines[j:end]
    pad = " " * base
    if name in SIGNATURES:
        out.extend(pad + sig for sig in [arg, *extra_sigs])
    elif name in VERSION_WORDS:
        arg = arg.rstrip(".")
        parts = [p.strip() for p in arg.split(",")] if name == "deprecated-removed" else [arg]
        template = VERSION_WORDS[name]
        if template.count("{}") == len(parts):
            out.append(pad + template.format(*parts))
    elif name in KEEP_BODY:
        if arg and name in ("admonition", "topic", "sidebar", "rubric", "centered"):
            out.append(pad + arg)
    else:
        return end  # index, toctree, module, comments, targets, images ...: gone with the body
    # The body is reST too (nested directives, roles): strip it recursively.
    inner = _blocks(textwrap.dedent("\n".join(body))).strip("\n") if any(
        s.strip() for s in body) else ""
    out.extend((pad + "   " + ln if ln else "") for ln in inner.split("\n"))
    out.append("")
    return end
