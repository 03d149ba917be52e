"""The data center's assets projections (filled in with the assets service's issue)."""

from __future__ import annotations

from services.common.projector import Projection

PROJECTIONS: list[Projection] = []
