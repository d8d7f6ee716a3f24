"""The hall simulator: a discrete-event virtual clock driving the dispatch core.

``arrivals`` reads and writes arrival files, ``generate`` makes them for a day
profile, ``engine`` plays one business day through ``dispatcher.core.Dispatcher``
and ``report`` turns the result into waits, utilisation and estimator accuracy.
"""

from .arrivals import Arrival, read_arrivals, write_arrivals
from .engine import Outcome, SimOptions, simulate

__all__ = ["Arrival", "Outcome", "SimOptions", "read_arrivals", "simulate", "write_arrivals"]
