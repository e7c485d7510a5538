"""``ifuqa explore``: search the scene space for scenes on which the (fixed) pipeline still shows
a known issue.

Owns the search (:mod:`~ifuqa.explore.search`: Hypothesis's :func:`~hypothesis.find` over
:mod:`ifuqa.strategies`, the outcome cache, the shrink budget, the example database; the shipped
checks run outside pytest through :mod:`ifuqa.evaluate.shipped_checks`) and writing a finding
(:mod:`~ifuqa.explore.output`: the minimal scenario TOML, its records, its HTML page). The fast
builds are :mod:`ifuqa.builds.exploration`. May import :mod:`ifuqa.report`,
:mod:`ifuqa.builds`, :mod:`ifuqa.evaluate`, :mod:`ifuqa.strategies` and the layers below;
imported lazily by the CLI and the pytest plugin (Hypothesis is never imported at plugin load).
"""

from __future__ import annotations

__all__: list[str] = []
