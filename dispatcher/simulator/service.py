"""Service-time draws for arrivals that do not carry their own ``service_seconds``."""

from __future__ import annotations

import math
import random

DISTRIBUTIONS = ("exp", "lognormal", "fixed")


def draw_service(rng: random.Random, mean: float, dist: str, cv: float) -> float:
    """One service time of the given mean: exponential (cv 1), lognormal with the given
    coefficient of variation, or always the mean."""
    if dist == "exp":
        return rng.expovariate(1.0 / mean)
    if dist == "lognormal":
        sigma2 = math.log(1.0 + cv * cv)
        return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))
    if dist == "fixed":
        return mean
    raise ValueError(f"unknown service distribution {dist!r}: one of {', '.join(DISTRIBUTIONS)}")
