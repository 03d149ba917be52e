"""The data center's vehicles projections (filled in with the vehicles service's issue)."""

from __future__ import annotations

from services.common.projector import Projection

PROJECTIONS: list[Projection] = []
