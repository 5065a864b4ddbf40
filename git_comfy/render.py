"""Rendering the files in ``templates/`` (hook script, completion scripts, man page) with jinja2."""

from __future__ import annotations

import os
import shlex

import jinja2

from git_comfy import ui


def template_dir() -> str:
    """``git_comfy/templates`` in an installed wheel, ``templates/`` beside the package in a
    checkout (the wheel build copies one to the other)."""
    package = os.path.dirname(os.path.abspath(__file__))
    installed = os.path.join(package, "templates")
    return installed if os.path.isdir(installed) else os.path.join(package, "..", "templates")


def _markdown_code(text: object) -> str:
    """Someone's text as Markdown inline code: control characters escaped, backticks (which
    would end the span) replaced, so a name cannot inject links or HTML into a README."""
    return "`" + ui.printable(str(text)).replace("`", "'") + "`"


def render(name: str, **context: object) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # shell scripts and roff, not HTML
    )
    environment.filters["shquote"] = shlex.quote
    environment.filters["mdcode"] = _markdown_code
    environment.filters["human_size"] = ui.human_size
    return environment.get_template(name).render(**context)
