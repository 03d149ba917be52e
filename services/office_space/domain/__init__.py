"""Office space (办公用房) domain: agencies as master data, buildings and rooms against the per-person
standard, idle rooms and adjustment, leases, repair projects, inspections and operating properties.

Pure Python: every rule of docs/domain.md for office space lives in these modules as aggregate methods that
check and record events.

The package re-exports nothing: import each name from the module that defines it. Its modules:

- ``agencies``: Agencies (单位): master data every other service learns from its events, and their staff on post.
- ``base``: What the office-space aggregates share: the event base, agency kinds and levels, ranks, area standards.
- ``buildings``: Office buildings (办公楼) and their rooms: allocation against the per-person standard, idle rooms,
  rooms still held by staff who left, and adjustment (调剂) of idle rooms between agencies.
- ``figures``: The office-space figures, defined once (docs/kpis/office_space.md): the summable per-agency
  quantities (``agency_sums``) and the figures shown from them (``space_figures``).
- ``inspections``: Special inspections (专项巡检): findings with rectification deadlines; overdue findings are visible.
- ``leases``: Lending and renting out office space (出租出借): only with approval; unapproved ones are findings.
- ``locations``: Buildings' locations as GeoJSON (RFC 7946): what a GIS opens as it is.
- ``people``: A person's identity across agencies (人员身份): one stream per person id, so a person on post at one
  agency cannot be posted at another without a transfer.
- ``properties``: Operating properties (经营性房产) the city owns and rents out: occupancy, rent income, vacancy costs.
- ``repairs``: Major and medium repair projects (大中修项目): application → necessity review → approval → execution.
"""
