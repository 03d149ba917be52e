"""Public-institution energy (公共机构节能, "能耗感知一张网") domain: meters and readings, roll-ups and
conversion, quotas, anomalies, annual consumption reports and targets.

Pure Python: the rules of docs/domain.md live here as aggregate methods that check and record events, and as
pure functions (roll-ups, conversions, anomaly detectors, target progress) that decide over plain data.
Split by aggregate.

The package re-exports nothing: import each name from the module that defines it. Its modules:

- ``anomalies``: Energy anomalies (能耗异常): pure detectors over consumption series, and each anomaly's life cycle.
- ``base``: What every energy aggregate shares: the event base, meter kinds and units, sub-items, local time.
- ``closing``: Closed years (公共机构能源资源消费统计 关账): a year's energy figures, frozen with the methods they used.
- ``coverage``: What period the data of a year covers, how a partial year is annualised, and when a verdict may be
  given.
- ``factor_tables``: Adopted factor tables (折标准煤系数, CO₂ 排放因子 as the administration adopts them): which table a year
  uses.
- ``holidays``: The working calendar the anomaly detectors judge days by: public holidays (法定节假日) and make-up
  working days (调休) from the platform's shared table (``services.common.kernel.holidays``), plus any the caller
  adds.
- ``meters``: Meters (计量器具) and the ingestion of their cumulative readings: the hot path of the service.
- ``quotas``: Energy quotas (能耗定额) per agency and year, and the alert when the year's trend will exceed them.
- ``readings``: Judging single readings: their shape, their value, where the counter went; and what a batch came to.
- ``reports``: Annual consumption reports (能源资源消费统计报表): an agency's whole-year use per kind, as its statistics say.
- ``rollups``: Roll-ups of interval consumption and their conversion to standard coal (tce) and CO₂.
- ``targets``: The city's conservation targets against the 2020 baseline (seed 001), computed from plain figures.
"""
