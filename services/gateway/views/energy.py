"""The data center's energy projections (filled in with the energy service's issue)."""

from __future__ import annotations

from services.common.projector import Projection

PROJECTIONS: list[Projection] = []
