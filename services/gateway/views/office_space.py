"""The data center's office_space projections (filled in with the office_space service's issue)."""

from __future__ import annotations

from services.common.projector import Projection

PROJECTIONS: list[Projection] = []
