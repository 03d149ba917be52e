"""State-owned assets (国有资产) domain: the asset ledger, stock-takes, the public goods warehouse (公物仓) with
idle-first allocation and loans, service-life rules for replacement, disposal, and warehouse stock (仓储).

Pure Python: the rules of docs/domain.md live here as aggregate methods that check and record events, and as pure
functions (book value, count comparison, overdue loans) that decide over plain data. Split by aggregate.

The package re-exports nothing: import each name from the module that defines it. Its modules:

- ``asset_events``: Events of an asset in the ledger and the errors its rules raise.
- ``base``: What the assets aggregates share: the event base, statuses and conditions, the service-life table.
- ``depreciation``: Depreciation of fixed assets (固定资产折旧): the one place book value, accumulated depreciation and
  remaining depreciation life are worked out, and the versioned depreciation-life table they use.
- ``disposal``: Disposal (资产处置): application → approval → auction through the public resource trading centre
  (公共资源交易中心), scrap (报废) or transfer (无偿划转) → completion with proceeds.
- ``ledger``: The asset ledger (资产台账): one aggregate per asset, its status, location, book value, replacement and
  disposal.
- ``stock``: Warehouse stock (仓储): goods in, out and transferred between the central warehouse and its outlying
  points ("1+N" 建库模式, seed 000 #28), never below zero, with reorder points and stock value at moving average cost.
- ``stocktake``: Stock-takes (盘点): what was counted per location against the ledger, so that the ledger matches
  reality (账物相符).
- ``warehouse``: The public goods warehouse (公物仓): requests met from idle stock first, purchases authorised only
  when nothing idle fits, and temporary loans for conferences and temporary bodies (会议、临时机构) with due dates and
  returns.
"""
