"""Load a realistic demo city into a running platform: ``make demo`` (after ``make run``).

    .venv/bin/python -m infra.local.demo                       # the full sizes (see README, "make demo")
    .venv/bin/python -m infra.local.demo --scale 0.05 --days 3  # a quick one

What it loads, Changzhou-like and the same on every run (``--seed``): the districts of
``services/common/kernel/districts.py``; 300 agencies (党政机关, 事业单位, schools, hospitals; city and county level)
with buildings, rooms and staff posted and allocated within the per-person standard (a few above it with an
approved exception, a few rooms still held by retired staff, a few vacant offices); 1,000 vehicles (about a
third new-energy) within quotas, with a year of trips (GPS tracks, a few on weekends or holidays without
approval, a few without GPS), fuel, charging, maintenance, repairs, tolls and insurance; an asset ledger with
idle assets, warehouse hand-ins, a warehouse request, a loan, a disposal and a stock-take; procurement (catalog,
budget lines, purchase requests, two tenders with bids and an abnormal quote, contracts, deliveries, a price
watch); energy meters (electricity with sub-items, water, gas) with 2020 annual reports, quotas and ``--days``
of 5-minute readings with a spike, night base load, a stuck meter and missing data.

Last year's procurement (budget lines granted the December before, purchase requests, a batch tender with an
abnormally low bid, contracts, deliveries and acceptance, each on its own day) is the city's history: it is
written as importer files (``history_files``; kept with ``--history-dir``) and brought in by
``infra.local.importer``, the path a real city's past takes (docs/import.md).

Everything goes through the platform's public interfaces, never into a database: the HTTP API (bearer token,
an ``Idempotency-Key`` on every command so a retry or a re-run changes nothing twice) and the district inbound
topics ``district.<code>.inbound`` (county agencies, meter readings, GPS tracks, stock-take counts, district
purchase requests), as district systems would. Histories are functions of absolute dates (computed from
``EPOCH``), so a re-run on a later day sends the same values for the days already sent and only adds the new
ones. It ends when the data center has caught up and prints a summary with the dashboard's address.

The package, one home per idea: ``draws`` (deterministic numbers and days), ``city`` (what the city is),
``histories`` (its backdated facts), ``client`` (the HTTP API and the district topics), ``base`` (what every
phase shares), one loader module per domain (``office_space``, ``energy``, ``vehicles``, ``assets``,
``procurement``), ``loader`` (the phases in order and the wait for the data center) and ``cli`` (the command
line, run by ``__main__``).
"""
