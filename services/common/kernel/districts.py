"""The city's districts (辖市区): six-digit administrative division codes, the tenant boundary.

The default table is Changzhou's (the city of the seed documents, docs/domain.md): the city level itself (市本级) and its districts
and county-level city. A deployment for another city replaces it with ``DISTRICTS_FILE`` (a JSON object
of code to name), read by ``services.common.base.settings``.
"""

from __future__ import annotations

from typing import Final

CITY_CODE: Final = "320400"

DEFAULT_DISTRICTS: Final[dict[str, str]] = {
    "320400": "常州市本级",
    "320402": "天宁区",
    "320404": "钟楼区",
    "320411": "新北区",
    "320412": "武进区",
    "320413": "金坛区",
    "320481": "溧阳市",
}
