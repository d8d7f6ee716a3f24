"""统计报表: the hall's figures, read from the store's event log and projections.

``build_report`` aggregates in SQL (``facts.py``: one row per ticket, built by the
database; ``figures.py``: the groupings over it); ``text.py``, ``excel.py`` and
``html.py`` render the result. docs/reports.md says what each figure means.
"""

from .figures import Report, build_report
from .period import Period

__all__ = ["Period", "Report", "build_report"]
