"""The data center's procurement projections (filled in with the procurement service's issue)."""

from __future__ import annotations

from services.common.projector import Projection

PROJECTIONS: list[Projection] = []
