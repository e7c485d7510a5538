"""The HTML QA report: figures per metric, the report's tables and the ``ifuqa compare`` page.

Owns how results look to a person: :mod:`ifuqa.report.figures` (a PNG figure per metric,
registered by metric name with ``@figure_for``, drawn with matplotlib's ``Figure`` API and never
pyplot; and the power-matrix figure), :mod:`ifuqa.report.html` (the summary, applicability and
power-matrix tables at the top of the pytest-html report), :mod:`ifuqa.report.compare_page`
(the page of ``ifuqa compare --html``), their jinja2 templates (``templates/*.html.j2``,
package data, autoescaped; :mod:`ifuqa.report.templating`), the shared colours
(:mod:`ifuqa.report.palette`), and :func:`ifuqa.report.access.get_field`, which reads a record
whether it is a dict or a :class:`ifuqa.verdicts.record.Record`. May import
:mod:`ifuqa.verdicts`, :mod:`ifuqa.util`, numpy, matplotlib and jinja2 (lazily: importing this
package stays cheap); never the builds, processing or simulation.
"""
