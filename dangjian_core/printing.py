"""Printable pages (notices, plans) from Jinja2 templates — no HTML built in Python strings.

A subject keeps its templates as package data in `dangjian_core/<subject>/templates/*.html`
(pyproject's package-data ships every package's `templates/`). A template may extend the shared
`print_base.html` (here in `dangjian_core/templates/`: doctype, charset and the blocks `title`,
`style`, `body`). Every value is escaped (autoescape), and a name the template uses but the
caller did not pass is an error, not an empty string::

    printing.render("dangjian_core.reports", "session_notice.html", session=s, rows=rows)
"""

from __future__ import annotations

from functools import cache

import jinja2


@cache
def _environment(package: str) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.PackageLoader(package, "templates"),
                                    jinja2.PackageLoader("dangjian_core", "templates")]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(package: str, name: str, /, **context: object) -> str:
    """The page `name` of `package`'s templates, filled with `context`."""
    return _environment(package).get_template(name).render(**context)
