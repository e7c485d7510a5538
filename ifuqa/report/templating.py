"""The report's HTML templates (``ifuqa/report/templates/*.html.j2``, package data) and their
jinja2 environment: autoescaping on, undefined names an error. jinja2 (which pytest-html brings)
is imported on first use."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["markup", "render"]


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("ifuqa.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context: Any) -> str:
    """Render one of the report's templates.

    Parameters
    ----------
    template : str
        File name in ``ifuqa/report/templates`` (``"power_matrix.html.j2"``).
    **context
        The template's variables; text is HTML-escaped unless passed through :func:`markup`.

    Returns
    -------
    str
        The HTML.
    """
    return _environment().get_template(template).render(**context)


def markup(html: str) -> Any:
    """Mark HTML made by another template as safe, so that :func:`render` inserts it as is.

    Parameters
    ----------
    html : str
        HTML rendered by this module (never text from a record or a file).

    Returns
    -------
    markupsafe.Markup
    """
    from markupsafe import Markup

    return Markup(html)
