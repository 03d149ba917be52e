"""Official vehicles (公务用车) domain: fleets against their quotas, plates, the new-energy share of
acquisitions, vehicles with their costs and anomaly checks, sealing and disposal, trips with city-wide dispatch.

Pure Python: every rule of docs/domain.md for official vehicles lives in these modules as aggregate methods that
check and record events, or as pure functions the service calls.

The package re-exports nothing: import each name from the module that defines it. Its modules:

- ``anomalies``: Vehicle anomalies (异常), each recorded as an event with its evidence, and the pure checks behind
  them.
- ``base``: What the vehicle aggregates share: the event base, energy types and carriers, use categories, errors.
- ``costs``: Costs per vehicle (单车运行成本): fuel and charging, repair and maintenance, insurance, rental, tolls, and
  the pure functions that turn them into cost per month and per km.
- ``fleet``: An agency's fleet against its vehicle quota (编制): registration beyond the quota is refused, disposal
  frees it.
- ``new_energy``: The new-energy share (新能源汽车占比): at least 30 % of new and replacement acquisitions (seed 000, #19).
- ``plates``: Number plates (号牌) by GA 36-2018: conventional seven-character plates and eight-character new-energy
  plates.
- ``track``: A trip's GPS track as GeoJSON (RFC 7946), for GIS tools and the dashboard's map.
- ``trips``: Trips (用车): request → dispatch → start → finish, GPS tracks in batches, and the flags on use.
- ``vehicles``: The official vehicle (公务用车): registration, energy and cost records with their anomaly checks, the
  odometer, sealing for holidays (封存), trips as the vehicle sees them, and disposal (处置).
"""
