"""``ModuleSpec`` -> source text, through the Jinja templates in ``templates/``.

One template per artifact (``contexts.py.jinja`` the runtime module, ``contexts.pyi.jinja``
the stub, ``checks.py.jinja`` the edge checks of either), shared macros in
``macros.jinja``. ``StrictUndefined`` turns a template typo into an error, not a blank.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import attrs
import jinja2

from molexp_codegen.build import natural_key
from molexp_codegen.model import ImportLine, ModuleSpec

__all__ = ["render_checks", "render_module", "render_stub"]

TEMPLATES = Path(__file__).parent / "templates"


def _escape(text: str, quote: str) -> str:
    """``text`` for the inside of a ``quote``-delimited literal or docstring: backslashes,
    the quote and every non-printable character (newlines, NUL, bidi overrides, zero-width
    characters) become escapes, so no user string can end the literal or hide code."""
    out = []
    for char in text:
        if char == "\\" or char == quote:
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out)


def _pyconst(value: Any) -> str:
    """A constant as Python source, strings in double quotes (what ruff format prefers)."""
    if isinstance(value, str):
        return '"' + _escape(value, '"') + '"'
    return repr(value)


def _quoted(text: str) -> str:
    """A type expression as a string annotation; single quotes when it holds a double."""
    if '"' in text and "'" not in text and "\\" not in text:
        return f"'{text}'"
    return _pyconst(text)


def doc_text(value: object) -> str:
    """Any user string (a workflow name, a class name, a path) as text that is safe inside a
    triple-quoted docstring and a ``#`` comment: the one way free text enters generated code."""
    return _escape(str(value), '"')


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["pyconst"] = _pyconst
    env.filters["quoted"] = _quoted
    env.filters["doc"] = doc_text
    env.filters["capitalize_first"] = lambda text: text[:1].upper() + text[1:]
    return env


def _render(template: str, **context: Any) -> str:
    text = environment().get_template(template).render(**context)
    # Templates end blocks with newlines; a module ends with exactly one.
    return text.rstrip("\n") + "\n"


def render_module(spec: ModuleSpec, edges_module: str = "") -> str:
    """The runtime module (``<stem>_contexts.py``); ``edges_module`` names its checks."""
    package = spec.source_module.split(".", 1)[0] if "." in spec.source_module else None
    imports = _first_party_last(spec.imports, package)
    return _render(
        "contexts.py.jinja", m=attrs.evolve(spec, imports=imports), edges_module=edges_module
    )


def _first_party_last(lines: tuple[ImportLine, ...], package: str | None) -> tuple[ImportLine, ...]:
    """The workflow's own package is first-party: isort's last group, after third-party
    packages (``numpy``) and molexp."""
    if package is None:
        return lines
    moved = [
        attrs.evolve(line, group=2) if line.module.split(".", 1)[0] == package else line
        for line in lines
    ]
    return tuple(sorted(moved, key=lambda line: (line.group, natural_key(line.module.lower()))))


def render_stub(spec: ModuleSpec) -> str:
    """The stub-only module (``<stem>_contexts.pyi``)."""
    return _render("contexts.pyi.jinja", m=spec)


def render_checks(spec: ModuleSpec, stub_module: str) -> str:
    """The edge checks (``<stem>_edges.py`` beside a runtime module, or a temporary module
    for a stub), importing the contexts from ``stub_module``."""
    contexts = tuple(
        sorted(((c.name, None) for c in spec.contexts), key=lambda n: natural_key(n[0]))
    )
    package = stub_module.split(".", 1)[0] if "." in stub_module else None
    lines = (*spec.check_imports, ImportLine(stub_module, contexts, 1))
    imports = _first_party_last(lines, package)
    if package is None:
        imports = tuple(
            sorted(lines, key=lambda line: (line.group, natural_key(line.module.lower())))
        )
    return _render("checks.py.jinja", m=spec, imports=imports)
