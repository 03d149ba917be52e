"""Centralized procurement (集中采购) domain: catalog, budgets, requests, tenders, contracts, price watch.

Pure Python: the rules of docs/domain.md live here as aggregate methods that check and record events, and as pure
functions (abnormal quotes, batch proposals, supplier performance) that decide over plain data.
Split by aggregate.

The package re-exports nothing: import each name from the module that defines it. Its modules:

- ``base``: What every procurement aggregate shares: the event base and the category table (status and positivity
  checks are the common ones in ``services.common.kernel.errors``).
- ``batch``: Batch procurement (批量集中采购): the requests of several agencies for one item gathered into one tender.
- ``budget``: Budget lines (预算) per agency and year: no spending without a line, none above it (杜绝超预算、无预算支出).
- ``catalog``: The centralized-procurement catalog (集中采购目录): goods, services and works by category.
- ``contracts``: Contracts (采购合同) with the winner, their deliveries and acceptance (履约验收), and supplier performance.
- ``ocds``: Procurement as the Open Contracting Data Standard (OCDS 1.1): one release per tender, for watchdogs'
  tools (the OCDS schema is vendored in ``contracts/ocds/1__1__5/``; the tests validate against it).
- ``price_watch``: Market price watch for canteen ingredients (食材价格监测, seed 000, #1): reference prices,
  observations, alerts.
- ``quotes``: Abnormal quotes (恶意报价): pure checks over the bids of a tender and the awards before it.
- ``requests``: Purchase requests (采购申请) and the idle-first authorisations they need (公物仓优先调剂).
- ``tenders``: Tenders (招标): requests → bids → abnormal-quote checks → evaluation → award at the lowest compliant
  price.
"""
