"""Load a realistic demo city into a running platform: ``make demo`` (after ``make run``).

    .venv/bin/python infra/local/demo.py                       # the issue's sizes (see README, "make demo")
    .venv/bin/python infra/local/demo.py --scale 0.05 --days 3  # a quick one

What it loads, Changzhou-like and the same on every run (``--seed``): the districts of
``services/common/districts.py``; 300 agencies (党政机关, 事业单位, schools, hospitals; city and county level)
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
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import http.client
import itertools
import json
import math
import operator
import random
import re
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infra.local import importer
from services.common import uscc
from services.common.clock import CHINA_STANDARD_TIME as CST
from services.common.contracts import latest_inbound_version
from services.common.districts import CITY_CODE
from services.common.holidays import day_kind
from services.common.money import fen_from_yuan
from services.common.progress import Progress
from services.common.settings import settings

AGENCIES = 300
VEHICLES = 1000
"""The issue's sizes at ``--scale 1``; meters follow from the buildings (about 2,500)."""

EPOCH = date(2024, 1, 1)
"""Meter counters and vehicle odometers are computed from this day on, so every run agrees on every value."""

YEAR_DAYS = 365
"""Days of vehicle history (costs and trips) before today."""

METERS_PER_MESSAGE = 100
"""Meters per readings message on a district topic (a day of 5-minute readings: 28,800 readings, ~1.2 MB)."""

METERS_PER_REQUEST = 300
"""Meters per ``POST /meter-readings`` batch with ``--readings-via http`` (86,400 readings a day)."""

RETRY_CODES = frozenset({"version_conflict", "service_unavailable", "unknown_agency", "idle_stock_check_required"})
"""Refusals that pass: a lost concurrency race, a service restarting, an agency or an authorisation not yet
known to the service that needs it (``idle_stock_check_required``: procurement has not yet received the
assets service's purchase authorisation; events are eventually consistent)."""

EXISTS_CODES = frozenset({"already_exists", "duplicate_command"})
"""Answers to a command already done: on a re-run they are the expected answer."""


# ----------------------------------------------------------------------------------------------------------
# deterministic numbers
# ----------------------------------------------------------------------------------------------------------


def _mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 steps): fast, and the same on every run and machine."""
    x = 0x9E3779B97F4A7C15
    for part in parts:
        x = (x ^ (part & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x


def _u(*parts: int) -> float:
    """A uniform number in [0, 1) determined by ``parts``."""
    return _mix(*parts) / 18446744073709551616.0


def _h(text: str) -> int:
    """A stable integer for a string (not Python's salted ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def _local(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CST)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


_KIND_CACHE: dict[date, str] = {}


def _kind(day: date) -> str:
    """workday, weekend or holiday (make-up working days are workdays)."""
    if day not in _KIND_CACHE:
        _KIND_CACHE[day] = day_kind(day)
    return _KIND_CACHE[day]


# ----------------------------------------------------------------------------------------------------------
# the city: districts, agencies, people, rooms
# ----------------------------------------------------------------------------------------------------------

DISTRICT_PLACES: dict[str, tuple[str, tuple[float, float], list[str], list[str]]] = {
    "320400": ("常州市", (31.8106, 119.9740), ["新北", "天宁", "钟楼", "武进"], ["龙城大道", "延陵西路", "和平北路"]),
    "320402": (
        "天宁区",
        (31.7795, 119.9740),
        ["茶山", "雕庄", "青龙", "红梅", "天宁", "兰陵", "郑陆"],
        ["关河东路", "中吴大道", "竹林西路"],
    ),
    "320404": (
        "钟楼区",
        (31.7770, 119.9020),
        ["南大街", "荷花池", "新闸", "五星", "永红", "北港", "西林", "邹区"],
        ["延陵西路", "广化街", "星港路"],
    ),
    "320411": (
        "新北区",
        (31.8300, 119.9700),
        ["河海", "三井", "龙虎塘", "春江", "孟河", "新桥", "薛家", "罗溪", "奔牛"],
        ["通江中路", "太湖东路", "汉江路"],
    ),
    "320412": (
        "武进区",
        (31.7010, 119.9420),
        ["湖塘", "牛塘", "洛阳", "遥观", "横林", "横山桥", "雪堰", "前黄", "礼嘉", "湟里"],
        ["人民东路", "延政中路", "武宜路"],
    ),
    "320413": (
        "金坛区",
        (31.7230, 119.5980),
        ["金城", "儒林", "直溪", "朱林", "薛埠", "指前", "尧塘", "东城", "西城"],
        ["金坛大道", "南环二路", "东门大街"],
    ),
    "320481": (
        "溧阳市",
        (31.4160, 119.4840),
        ["溧城", "埭头", "上黄", "戴埠", "天目湖", "别桥", "上兴", "竹箦", "南渡", "社渚"],
        ["平陵东路", "昆仑北路", "燕山路"],
    ),
}
"""Per district: its name prefix, a centre (WGS-84), its towns and streets (镇、街道) and a few roads."""

CITY_AGENCIES: list[tuple[str, str]] = [
    ("常州市机关事务管理局", "party_government"),
    ("中共常州市委办公室", "party_government"),
    ("常州市人民政府办公室", "party_government"),
    ("常州市财政局", "party_government"),
    ("常州市教育局", "party_government"),
    ("常州市公安局", "party_government"),
    ("常州市民政局", "party_government"),
    ("常州市司法局", "party_government"),
    ("常州市人力资源和社会保障局", "party_government"),
    ("常州市自然资源和规划局", "party_government"),
    ("常州市生态环境局", "party_government"),
    ("常州市住房和城乡建设局", "party_government"),
    ("常州市交通运输局", "party_government"),
    ("常州市水利局", "party_government"),
    ("常州市农业农村局", "party_government"),
    ("常州市商务局", "party_government"),
    ("常州市文化广电和旅游局", "party_government"),
    ("常州市卫生健康委员会", "party_government"),
    ("常州市退役军人事务局", "party_government"),
    ("常州市应急管理局", "party_government"),
    ("常州市审计局", "party_government"),
    ("常州市市场监督管理局", "party_government"),
    ("常州市统计局", "party_government"),
    ("常州市医疗保障局", "party_government"),
    ("常州市发展和改革委员会", "party_government"),
    ("常州市工业和信息化局", "party_government"),
    ("常州市科学技术局", "party_government"),
    ("常州市城市管理局", "party_government"),
    ("常州市体育局", "party_government"),
    ("常州市政务服务管理办公室", "party_government"),
    ("中共常州市委组织部", "party_government"),
    ("中共常州市委宣传部", "party_government"),
    ("中共常州市纪律检查委员会", "party_government"),
    ("常州市人大常委会办公室", "party_government"),
    ("政协常州市委员会办公室", "party_government"),
    ("常州市信访局", "party_government"),
    ("常州市数据局", "party_government"),
    ("常州市人民防空办公室", "party_government"),
    ("常州市档案馆", "public_institution"),
    ("常州市图书馆", "public_institution"),
    ("常州博物馆", "public_institution"),
    ("常州市疾病预防控制中心", "public_institution"),
    ("常州市住房公积金管理中心", "public_institution"),
    ("常州市公共资源交易中心", "public_institution"),
    ("常州市检验检测认证研究院", "public_institution"),
    ("常州市急救中心", "public_institution"),
    ("常州市社会福利院", "public_institution"),
    ("常州市城市规划设计院", "public_institution"),
    ("常州市不动产登记交易中心", "public_institution"),
    ("常州市环境监测中心", "public_institution"),
    ("常州市青少年活动中心", "public_institution"),
    ("常州市第一人民医院", "hospital"),
    ("常州市第二人民医院", "hospital"),
    ("常州市中医医院", "hospital"),
    ("常州市妇幼保健院", "hospital"),
    ("常州市儿童医院", "hospital"),
    ("常州市第三人民医院", "hospital"),
    ("常州市第七人民医院", "hospital"),
    ("常州市德安医院", "hospital"),
    ("常州市第一中学", "school"),
    ("常州市第二中学", "school"),
    ("常州市第三中学", "school"),
    ("常州市北郊高级中学", "school"),
    ("常州市田家炳高级中学", "school"),
    ("常州市第五中学", "school"),
    ("常州市第二十四中学", "school"),
    ("常州市实验初级中学", "school"),
    ("常州市局前街小学", "school"),
    ("常州市解放路小学", "school"),
    ("常州市觅渡教育集团", "school"),
    ("常州市卫生高等职业技术学校", "school"),
    ("常州技师学院", "school"),
    ("常州开放大学", "school"),
    ("常州市红十字会", "other"),
    ("常州市总工会机关服务中心", "other"),
    ("常州市文学艺术界联合会", "other"),
    ("常州市科学技术协会", "other"),
]
"""City-level agencies (市本级); the administration (机关事务管理局) first: it keeps the city's warehouse."""

COUNTY_BUREAUS = [
    "机关事务管理中心",
    "人民政府办公室",
    "委办公室",
    "财政局",
    "教育局",
    "民政局",
    "人力资源和社会保障局",
    "住房和城乡建设局",
    "交通运输局",
    "农业农村局",
    "卫生健康局",
    "市场监督管理局",
    "应急管理局",
    "审计局",
    "统计局",
    "司法局",
    "城市管理局",
    "文体广电和旅游局",
    "发展和改革局",
    "商务局",
    "退役军人事务局",
    "医疗保障局",
    "政务服务管理办公室",
    "纪委监委",
    "委组织部",
    "委宣传部",
]
"""County-level bodies of a district (the 机关事务管理中心 first: it keeps the district's warehouse)."""

COUNTY_INSTITUTIONS = ["图书馆", "文化馆", "疾病预防控制中心", "档案馆", "公证处"]
SCHOOL_KINDS = ["实验小学", "中心小学", "初级中学", "高级中学"]
HOSPITAL_KINDS = ["人民医院", "中医医院", "妇幼保健院"]
LEADERSHIP = ("人民政府办公室", "委办公室")
"""Bodies whose heads hold the district's (or city's) principal and deputy ranks."""

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方邹孟熊秦邱江尹薛段雷侯史陶贺顾毛钱严戴孔汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美霞平刚桂兰建国志红玉文斌浩宇轩欣怡晨阳俊峰婷雪琳"


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


@dataclass
class Person:
    """A member of staff with the room they get."""

    person_id: str
    name: str
    rank: str
    posted_on: date
    room: Room | None = None
    departed_on: date | None = None


@dataclass
class Room:
    """An office, meeting, service or equipment room."""

    room_id: str
    number: str
    area: float
    use: str
    over_standard: bool = False


@dataclass
class Building:
    """An agency's office building with its rooms and meters."""

    building_id: str
    name: str
    address: str
    rooms: list[Room] = field(default_factory=list)
    meters: list[Meter] = field(default_factory=list)
    floor_area: float = 0.0  # a teaching or hospital building (no offices): its own gross floor area

    @property
    def gross_area(self) -> float:
        """Gross floor area: the rooms' usable area over a usable share of about 60 % (or ``floor_area``)."""
        usable = sum(r.area for r in self.rooms)
        return max(self.floor_area, float(math.ceil(usable / 0.6 / 10) * 10))


@dataclass
class Agency:
    """An agency (单位) of the city with what belongs to it."""

    seq: int
    agency_id: str
    name: str
    district: str
    kind: str
    level: str
    headcount: int
    leadership: bool = False
    keeper: bool = False
    staff: list[Person] = field(default_factory=list)
    buildings: list[Building] = field(default_factory=list)
    vehicle_quota: int = 0
    vehicles: list[Vehicle] = field(default_factory=list)
    assets: list[Asset] = field(default_factory=list)

    @property
    def short(self) -> str:
        """The name without the city or district prefix."""
        return re.sub(r"^(中共)?(常州市|天宁区|钟楼区|新北区|武进区|金坛区|溧阳市)", "", self.name) or self.name


def _agency_id(seq: int, district: str, kind: str) -> str:
    """A unified social credit code (统一社会信用代码, GB 32100-2015) issued in ``district``: 11 机关,
    12 事业单位, 51 社会团体, with its check character."""
    prefix = "11" if kind == "party_government" else ("51" if kind == "other" else "12")
    return uscc.with_check_character(f"{prefix}{district}MB{seq:07d}")


def _district_names(district: str, name: str) -> tuple[str, tuple[float, float], list[str], list[str]]:
    if district in DISTRICT_PLACES:
        return DISTRICT_PLACES[district]
    return name, (31.78, 119.95), ["城东", "城西", "城南", "城北", "中心"], ["人民路", "解放路", "建设路"]


def _county_catalogue(district: str, name: str, rng: random.Random) -> list[tuple[str, str]]:
    """Every county-level agency of a district, the keeper first, the rest a representative mix."""
    prefix, _, places, _ = _district_names(district, name)
    party = "中共" + prefix
    bureaus = [(f"{party}{b}" if b.startswith("委") else f"{prefix}{b}", "party_government") for b in COUNTY_BUREAUS]
    streets = [
        (f"{prefix}{p}{'街道办事处' if i % 2 else '镇人民政府'}", "party_government") for i, p in enumerate(places)
    ]
    institutions = [(f"{prefix}{x}", "public_institution") for x in COUNTY_INSTITUTIONS]
    schools = [(f"{prefix}{p}{k}", "school") for p, k in zip(places, itertools.cycle(SCHOOL_KINDS), strict=False)]
    hospitals = [(f"{prefix}{k}", "hospital") for k in HOSPITAL_KINDS]
    hospitals += [(f"{prefix}{p}社区卫生服务中心", "hospital") for p in places[:2]]
    rest = bureaus[1:] + streets[:4] + institutions + schools[:6] + hospitals
    head = [bureaus[0]]
    rng.shuffle(rest)
    # the leadership bodies early, so a small demo still has them
    rest.sort(key=lambda item: 0 if item[0].endswith(LEADERSHIP) else 1)
    return head + rest


def _headcount(kind: str, level: str, rng: random.Random) -> int:
    low, high = {
        "party_government": (25, 55) if level == "city" else (14, 36),
        "public_institution": (10, 30),
        "hospital": (20, 45),
        "school": (8, 18),
        "other": (6, 14),
    }[kind]
    return rng.randint(low, high)


STANDARD = {
    "city": {"city_principal": 42, "city_deputy": 30, "bureau_principal": 24, "bureau_deputy": 18, "below_bureau": 9},
    "county": {
        "county_principal": 30,
        "county_deputy": 24,
        "section_principal": 12,
        "section_deputy": 9,
        "below_section": 9,
    },
}
"""The 2014 standard (m² per person), as ``services/office_space/domain/base.py`` has it: rooms are sized below it."""


def _ranks(agency: Agency, count: int) -> list[str]:
    if agency.level == "city":
        top = ["city_principal", "city_deputy", "city_deputy"] if agency.leadership else []
        head = ["bureau_principal"] + ["bureau_deputy"] * 3
        below = "below_bureau"
    else:
        top = ["county_principal", "county_deputy", "county_deputy"] if agency.leadership else []
        head = ["section_principal"] + ["section_deputy"] * 2
        below = "below_section"
    ranks = (top + head)[:count]
    return ranks + [below] * (count - len(ranks))


def _office_space(agency: Agency, today: date, seed: int) -> None:
    """Staff, buildings and rooms: one office each within the standard, a few deliberate findings."""
    rng = random.Random(f"{seed}:space:{agency.agency_id}")
    on_post = max(1, round(agency.headcount * rng.uniform(0.85, 0.97)))
    for n, rank in enumerate(_ranks(agency, on_post), start=1):
        posted = today - timedelta(days=rng.randint(60, 5000))
        agency.staff.append(Person(f"P{agency.seq:04d}-{n:03d}", _person_name(rng), rank, posted))
    roads = _district_names(agency.district, "")[3]
    district_name = _district_names(agency.district, "")[0]
    main = "行政楼" if agency.kind in ("hospital", "school") else "办公楼"
    others = {"hospital": [("门诊楼", 6000, 20000), ("住院楼", 8000, 30000)], "school": [("教学楼", 4000, 12000)]}
    for b, (name, low, high) in enumerate([(main, 0, 0), *others.get(agency.kind, [])]):
        road = roads[(agency.seq + b) % len(roads)]
        address = f"{district_name}{road}{rng.randint(1, 999)}号"
        building = Building(f"BLD{agency.seq:04d}-{b + 1}", f"{agency.short}{name}", address)
        building.floor_area = float(rng.randint(low, high) // 10 * 10) if high else 0.0
        agency.buildings.append(building)
    standard = STANDARD[agency.level]
    over = agency.seq % 23 == 7  # a few agencies: one office above the standard, with an approved exception
    building = agency.buildings[0]  # the offices are all in the agency's office (administration) building
    for person in agency.staff:
        floor = 2 + len(building.rooms) // 12
        number = f"{floor}{len(building.rooms) % 12 + 1:02d}"
        allowed = standard[person.rank]
        area = round(allowed * rng.uniform(0.78, 1.0) * 2) / 2
        flagged = over and person.rank.endswith("deputy") and not any(r.over_standard for r in building.rooms)
        if flagged:
            area = round(allowed * 1.4 * 2) / 2
        person.room = Room(f"{building.building_id}-R{number}", number, area, "office", over_standard=flagged)
        building.rooms.append(person.room)
    for building in agency.buildings[:1]:
        extras = [
            ("meeting", rng.uniform(40, 90)),
            ("service", rng.uniform(15, 30)),
            ("equipment", rng.uniform(10, 20)),
        ]
        extras += [("office", rng.uniform(8, 18)) for _ in range(rng.choice((1, 1, 2)))]  # vacant offices
        for use, area in extras:
            number = f"1{len(building.rooms) % 50 + 1:02d}"
            building.rooms.append(Room(f"{building.building_id}-R{number}{use[0]}", number, round(area, 1), use))
    if agency.seq % 11 == 5 and len(agency.staff) > 4:  # retired, the room not handed back: a finding
        agency.staff[-1].departed_on = today - timedelta(days=rng.randint(20, 60))


def _apportion(weights: list[float], total: int) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder)."""
    whole = sum(weights) or 1.0
    shares = [w * total / whole for w in weights]
    counts = [int(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: shares[i] - counts[i], reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def build_agencies(districts: dict[str, str], scale: float, seed: int, today: date) -> list[Agency]:
    """The city's agencies: ``AGENCIES × scale`` of them (at least one per district, its warehouse keeper)."""
    rng = random.Random(f"{seed}:agencies")
    catalogues: dict[str, list[tuple[str, str]]] = {}
    for code, name in sorted(districts.items()):
        catalogues[code] = list(CITY_AGENCIES) if code == CITY_CODE else _county_catalogue(code, name, rng)
    full = sum(len(c) for c in catalogues.values())
    wanted = max(len(districts), round(AGENCIES * scale))
    counts = _apportion([len(c) for c in catalogues.values()], min(wanted, full))
    agencies: list[Agency] = []
    seq = 0
    for (code, catalogue), count in zip(catalogues.items(), counts, strict=True):
        for n, (name, kind) in enumerate(catalogue):
            seq += 1
            if n >= max(count, 1):
                continue
            level = "city" if code == CITY_CODE else "county"
            agency_rng = random.Random(f"{seed}:agency:{seq}")
            agency = Agency(
                seq,
                _agency_id(seq, code, kind),
                name,
                code,
                kind,
                level,
                _headcount(kind, level, agency_rng),
                leadership=name.endswith(LEADERSHIP),
                keeper=n == 0,
            )
            _office_space(agency, today, seed)
            agencies.append(agency)
    return agencies


# ----------------------------------------------------------------------------------------------------------
# vehicles: specifications, fleets and a year of use
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Model:
    """A vehicle model: energy type, consumption norm per 100 km (L, or kWh for battery electric), capacities."""

    name: str
    energy_type: str
    norm: float
    tank: float | None
    battery: float | None


MODELS = {
    "gasoline": [
        Model("大众帕萨特 1.8T", "gasoline", 8.0, 66, None),
        Model("丰田凯美瑞 2.0L", "gasoline", 7.2, 60, None),
        Model("别克GL8 商务车", "gasoline", 9.5, 65, None),
        Model("红旗H5 1.8T", "gasoline", 7.5, 56, None),
        Model("大众途观L 2.0T", "gasoline", 8.6, 60, None),
    ],
    "diesel": [Model("江铃全顺 2.2T", "diesel", 9.5, 80, None), Model("依维柯得意 2.5T", "diesel", 11.0, 80, None)],
    "hybrid_electric": [Model("丰田凯美瑞双擎 2.5L", "hybrid_electric", 4.8, 50, None)],
    "plug_in_hybrid": [
        Model("比亚迪秦PLUS DM-i", "plug_in_hybrid", 3.8, 48, 18.3),
        Model("比亚迪宋PLUS DM-i", "plug_in_hybrid", 4.5, 52, 18.3),
    ],
    "battery_electric": [
        Model("比亚迪汉EV", "battery_electric", 14.5, None, 76.9),
        Model("红旗E-QM5", "battery_electric", 13.5, None, 55.0),
        Model("比亚迪秦EV", "battery_electric", 12.5, None, 57.0),
        Model("广汽埃安S", "battery_electric", 13.0, None, 58.8),
    ],
}

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
STATIONS = [
    "中国石化常州龙城大道加油站",
    "中国石化常州青洋路加油站",
    "中国石油常州长江路加油站",
    "中国石化武进湖塘加油站",
]
CHARGERS = ["国网常州市行政中心充电站", "特来电常州钟楼充电站", "星星充电武进高新区充电站", "国网溧阳燕山路充电站"]
GARAGES = ["常州市公务用车定点维修厂（龙城汽修）", "常州汽车维修中心有限公司", "武进公交汽车修理有限公司"]
INSURERS = ["中国人民财产保险股份有限公司常州市分公司", "中国平安财产保险股份有限公司常州中心支公司"]
PURPOSES = ["参加会议", "调研", "督查检查", "执法检查", "送达文件", "公务接待", "应急保障", "项目现场踏勘", "工作对接"]
DESTINATIONS_LOCAL = ["市行政中心", "天宁区政府", "钟楼区政府", "新北区政府", "武进区政府", "市民广场", "常州高铁站"]
DESTINATIONS_COUNTY = ["金坛区政府", "溧阳市政府", "天目湖镇", "薛埠镇", "孟河镇", "雪堰镇", "竹箦镇"]
DESTINATIONS_FAR = ["江苏省人民政府（南京）", "苏州市", "无锡市", "镇江市", "扬州市"]


@dataclass
class Vehicle:
    """A vehicle of an agency's fleet."""

    seq: int
    vehicle_id: str
    plate: str
    agency: Agency
    model: Model
    use_category: str
    acquisition_kind: str
    acquired_on: date
    replaces: Vehicle | None = None
    disposed_on: date | None = None
    trips_per_month: float = 1.0
    flags: frozenset[str] = frozenset()

    @property
    def new_energy(self) -> bool:
        """Battery electric and plug-in hybrids (fuel cells are not in the demo)."""
        return self.model.energy_type in ("battery_electric", "plug_in_hybrid")


def _plate(rng: random.Random, energy_type: str, police: bool, taken: set[str]) -> str:
    while True:
        if energy_type == "battery_electric":
            plate = f"苏DD{rng.choice(PLATE_LETTERS + '0123456789')}{rng.randint(0, 9999):04d}"
        elif energy_type == "plug_in_hybrid":
            plate = f"苏DF{rng.choice(PLATE_LETTERS + '0123456789')}{rng.randint(0, 9999):04d}"
        elif police:
            plate = f"苏D{rng.randint(0, 9999):04d}警"
        else:
            plate = f"苏D{rng.choice(PLATE_LETTERS)}{rng.randint(0, 9999):04d}"
        if plate not in taken:
            taken.add(plate)
            return plate


def _vehicle_weight(agency: Agency) -> float:
    name = agency.name
    if "机关事务" in name:
        return 10.0
    if "公安" in name:
        return 16.0
    if any(k in name for k in ("城市管理", "市场监督", "应急", "交通运输", "生态环境", "急救")):
        return 7.0
    if agency.leadership:
        return 6.0
    return {"party_government": 3.0, "public_institution": 1.6, "hospital": 4.0, "school": 0.4, "other": 0.6}[
        agency.kind
    ]


def _use_category(agency: Agency, rng: random.Random, first: bool) -> str:
    name = agency.name
    if agency.leadership and first:
        return "confidential_communication"
    if any(k in name for k in ("公安", "城市管理", "市场监督", "交通运输")) and rng.random() < 0.7:
        return "law_enforcement"
    if (agency.kind == "hospital" or "应急" in name or "急救" in name) and rng.random() < 0.6:
        return "emergency"
    if any(k in name for k in ("生态环境", "环境监测", "疾病预防", "检验检测")) and rng.random() < 0.5:
        return "special_technical"
    return "general" if rng.random() < 0.95 else "other"


def build_vehicles(agencies: list[Agency], scale: float, seed: int, today: date, trips_per_month: float) -> None:
    """``VEHICLES × scale`` vehicles over the agencies, about a third new-energy, and each agency's quota.

    About 8 % are this year's acquisitions (new, or replacing an old vehicle disposed of by auction); in every
    district at least 30 % of them are new-energy, and they are registered first (the share rule refuses a
    conventional acquisition that would take the district below 30 %).
    """
    rng = random.Random(f"{seed}:vehicles")
    counts = _apportion([_vehicle_weight(a) for a in agencies], round(VEHICLES * scale))
    taken: set[str] = set()
    seq = 0
    types = ["gasoline"] * 56 + ["battery_electric"] * 23 + ["plug_in_hybrid"] * 11 + ["diesel"] * 7
    types += ["hybrid_electric"] * 3
    this_year = date(today.year, 1, 1)
    for agency, count in zip(agencies, counts, strict=True):
        for n in range(count):
            seq += 1
            energy = rng.choice(types)
            use = _use_category(agency, rng, n == 0)
            if energy == "diesel" and use not in ("emergency", "special_technical", "law_enforcement"):
                energy = "gasoline"
            model = rng.choice(MODELS[energy])
            police = "公安" in agency.name and use == "law_enforcement" and not model.energy_type.endswith("electric")
            plate = _plate(rng, energy, police and energy in ("gasoline", "diesel"), taken)
            latest = max(this_year + timedelta(days=20), today - timedelta(days=40))
            if rng.random() < 0.08:
                kind = "replacement" if rng.random() < 0.4 else "new"
                acquired = this_year + timedelta(days=rng.randint(10, max(11, (latest - this_year).days)))
            else:
                kind = "existing"
                acquired = date(rng.randint(2014, today.year - 1), rng.randint(1, 12), rng.randint(1, 28))
            vehicle = Vehicle(
                seq, f"VH{seq:05d}", plate, agency, model, use, kind, acquired, trips_per_month=trips_per_month
            )
            if kind == "replacement":
                old_model = rng.choice(MODELS["gasoline"])
                old = Vehicle(
                    0,
                    f"VH{seq:05d}-OLD",
                    _plate(rng, "gasoline", False, taken),
                    agency,
                    old_model,
                    "general",
                    "existing",
                    date(rng.randint(2010, 2013), rng.randint(1, 12), rng.randint(1, 28)),
                    disposed_on=acquired - timedelta(days=rng.randint(5, 30)),
                )
                vehicle.replaces = old
            vehicle.flags = frozenset(
                name
                for name, share in (("thirsty", 0.006), ("overfill", 0.004), ("rollback", 0.003), ("garage", 0.006))
                if _u(_h(vehicle.vehicle_id), seed, _h(name)) < share
            )
            agency.vehicles.append(vehicle)
    _balance_new_energy(agencies, rng, taken)
    for agency in agencies:
        agency.vehicle_quota = len(agency.vehicles) + (1 if rng.random() < 0.3 else 0) if agency.vehicles else 0


def _balance_new_energy(agencies: list[Agency], rng: random.Random, taken: set[str]) -> None:
    """Make at least 30 % of each district's acquisitions this year new-energy (conventional ones → electric)."""
    by_district: dict[str, list[Vehicle]] = {}
    for agency in agencies:
        for vehicle in agency.vehicles:
            if vehicle.acquisition_kind != "existing":
                by_district.setdefault(agency.district, []).append(vehicle)
    for acquired in by_district.values():
        conventional = [v for v in acquired if not v.new_energy]
        while conventional and sum(v.new_energy for v in acquired) * 10 < 3 * len(acquired):
            vehicle = conventional.pop()
            vehicle.model = rng.choice(MODELS["battery_electric"])
            vehicle.plate = _plate(rng, "battery_electric", False, taken)


@dataclass
class Step:
    """One command of a vehicle's history (or a GPS track for a district topic)."""

    name: str
    path: str
    body: dict[str, Any]
    key: str
    gps_district: str | None = None
    track: tuple[str, str, datetime, datetime, int] | None = None  # made when sent (``_track``)


class Fleet:
    """Where every vehicle's trip requester may come from (city-wide dispatch: any agency)."""

    def __init__(self, agencies: list[Agency]) -> None:
        self.agencies = agencies


def vehicle_history(vehicle: Vehicle, fleet: Fleet, today: date, seed: int) -> tuple[float, list[Step]]:
    """The vehicle's odometer at the start of its history window and the window's commands, in time order.

    The simulation runs day by day from ``EPOCH`` (or the acquisition) with numbers drawn from the vehicle and
    the date only, so the same date always gives the same trip, fuel and odometer on every run.
    """
    vh = _h(vehicle.vehicle_id)
    start = max(EPOCH, vehicle.acquired_on)
    window = max(today - timedelta(days=YEAR_DAYS), vehicle.acquired_on)
    end = vehicle.disposed_on or today
    model = vehicle.model
    years = max(0.0, (start - vehicle.acquired_on).days / 365.0)
    odometer = round(years * (9000 + 6000 * _u(vh, 1)), 1) if vehicle.acquisition_kind == "existing" else 12.0
    rate = model.norm / 100.0 * (0.88 + 0.18 * _u(vh, 2))  # real consumption per km (L, or kWh)
    fuel_used = battery_used = 0.0
    fill_at = 0.55 + 0.2 * _u(vh, 3)
    last_service_km, last_service_day = odometer, start
    window_odometer = odometer
    steps: list[Step] = []
    day = start

    def refuel(day: date, when: datetime, suffix: str, quantity: float, odometer: float) -> None:
        o = day.toordinal()
        if "overfill" in vehicle.flags and _u(vh, o, 11) < 0.25:
            quantity = model.tank * 1.18 if model.tank else quantity  # jerry cans filled on the fuel card
        if "rollback" in vehicle.flags and _u(vh, o, 12) < 0.25:
            odometer = max(0.0, odometer - 1000)  # a reading typed wrong
        price = 7.35 + 0.6 * _u(o // 14, 5) if model.energy_type != "diesel" else 7.05 + 0.5 * _u(o // 14, 6)
        body: dict[str, Any] = {
            "fuel": "diesel" if model.energy_type == "diesel" else "gasoline",
            "quantity": round(quantity, 2),
            "amount_fen": fen_from_yuan(round(round(quantity, 2) * price, 2)),
            "station": STATIONS[(vh + o) % len(STATIONS)],
            "designated": _u(vh, o, 14) < 0.95,
            "odometer_km": round(odometer, 1),
            "refuelled_at": _iso(when),
            "record_id": f"FU-{vehicle.vehicle_id}-{day:%Y%m%d}{suffix}",
        }
        steps.append(Step("vehicles.record_fuel", f"/vehicles/{vehicle.vehicle_id}/fuel", body, body["record_id"]))

    def charge(day: date, when: datetime, suffix: str, used: float, odometer: float) -> None:
        o = day.toordinal()
        quantity = round(used * 1.08, 2)  # what the charger meters: the battery's intake and its losses
        body: dict[str, Any] = {
            "quantity_kwh": quantity,
            "amount_fen": fen_from_yuan(round(quantity * (0.95 + 0.4 * _u(vh, o, 15)), 2)),
            "station": CHARGERS[(vh + o) % len(CHARGERS)],
            "designated": _u(vh, o, 16) < 0.93,
            "odometer_km": odometer,
            "charged_at": _iso(when),
            "record_id": f"CH-{vehicle.vehicle_id}-{day:%Y%m%d}{suffix}",
        }
        steps.append(
            Step("vehicles.record_charging", f"/vehicles/{vehicle.vehicle_id}/charging", body, body["record_id"])
        )

    electric = model.energy_type == "battery_electric"
    hybrid = model.energy_type == "plug_in_hybrid"
    while day < end:
        o = day.toordinal()
        emit = day >= window
        if day == window:
            window_odometer = odometer
        kind = _kind(day)
        chance = vehicle.trips_per_month / 21.7 * (1.0 if kind == "workday" else 0.015)
        if _u(vh, o, 10) < chance:
            distance, destination = _trip_plan(vehicle, day)
            thirsty = "thirsty" in vehicle.flags and day >= today - timedelta(days=75)
            per_km = rate * (1.5 if thirsty else 1.0)
            fuel = distance * per_km * (0.55 if hybrid else 1.0) if model.tank else 0.0
            power = distance * (per_km if electric else 0.072) if model.battery else 0.0
            if hybrid and model.battery:  # a plug-in hybrid runs on petrol once its battery is spent
                power = min(power, model.battery * 0.8)
            # a trip that would run the tank or battery low starts with a top-up
            if model.tank and fuel_used > 0 and fuel_used + fuel > model.tank * 0.9:
                if emit:
                    refuel(day, _local(day, 7, 35), "-AM", fuel_used, odometer)
                fuel_used = 0.0
            if model.battery and battery_used > 0 and battery_used + power > model.battery * 0.85:
                if emit:
                    charge(day, _local(day, 7, 20), "-AM", battery_used, odometer)
                battery_used = 0.0
            trip_steps = _trip(vehicle, fleet, day, odometer, distance, destination)
            if emit:
                steps += trip_steps
            odometer = round(odometer + distance, 1)
            fuel_used += fuel
            battery_used = min(battery_used + power, model.battery * 0.95) if model.battery else 0.0
        if model.tank and fuel_used >= model.tank * fill_at:
            if emit:
                refuel(day, _local(day, 17, 40 + int(15 * _u(vh, o, 13))), "", fuel_used, odometer)
            fuel_used = 0.0
        if model.battery and battery_used >= model.battery * (0.5 if electric else 0.6):
            if emit:
                charge(day, _local(day, 18, 5), "", battery_used, odometer)
            battery_used = 0.0
        if kind == "workday" and (
            odometer - last_service_km >= 7500 or (day - last_service_day).days >= 180 + int(20 * _u(vh, 17))
        ):
            last_service_km, last_service_day = odometer, day
            if emit:
                steps.append(_repair(vehicle, day, odometer, "maintenance", 500 + 900 * _u(vh, o, 18), "定期保养"))
        if kind == "workday" and _u(vh, o, 19) < 0.0035:
            amount = 300 + 1500 * _u(vh, o, 20) ** 2  # a garage visit; outliers are the "garage" vehicles
            if emit:
                steps.append(_repair(vehicle, day, odometer, "repair", amount, "故障维修"))
        garage = "garage" in vehicle.flags and kind == "workday" and _last_month(today) == (day.year, day.month)
        if garage and emit and _u(vh, o, 21) < 0.25:
            steps.append(_repair(vehicle, day, odometer, "repair", 3000 + 6000 * _u(vh, o, 22), "变速箱维修"))
        if (day.month, day.day) == (vehicle.acquired_on.month, min(vehicle.acquired_on.day, 28)) and emit:
            premium = round(2800 + 3200 * _u(vh, day.year, 23), 2)
            body: dict[str, Any] = {
                "kind": "insurance",
                "payee": INSURERS[vh % len(INSURERS)],
                "designated": True,
                "amount_fen": fen_from_yuan(premium),
                "occurred_on": day.isoformat(),
                "covers_from": day.isoformat(),
                "covers_to": (day.replace(year=day.year + 1) - timedelta(days=1)).isoformat(),
                "record_id": f"INS-{vehicle.vehicle_id}-{day.year}",
            }
            steps.append(
                Step("vehicles.record_expense", f"/vehicles/{vehicle.vehicle_id}/expenses", body, body["record_id"])
            )
        day += timedelta(days=1)
    return window_odometer, steps


def _last_month(today: date) -> tuple[int, int]:
    first = today.replace(day=1) - timedelta(days=1)
    return first.year, first.month


def _repair(vehicle: Vehicle, day: date, odometer: float, kind: str, amount: float, what: str) -> Step:
    vh = _h(vehicle.vehicle_id)
    body: dict[str, Any] = {
        "kind": kind,
        "vendor": GARAGES[(vh + day.toordinal()) % len(GARAGES)],
        "designated": _u(vh, day.toordinal(), 24) < 0.9,
        "amount_fen": fen_from_yuan(round(amount, 2)),
        "description": what,
        "odometer_km": odometer,
        "occurred_on": day.isoformat(),
        "record_id": f"{'MT' if kind == 'maintenance' else 'RP'}-{vehicle.vehicle_id}-{day:%Y%m%d}",
    }
    return Step("vehicles.record_repair", f"/vehicles/{vehicle.vehicle_id}/repairs", body, body["record_id"])


def _trip_plan(vehicle: Vehicle, day: date) -> tuple[float, str]:
    """Where the vehicle goes on ``day`` and how far (km): in town, to the county towns, or out of the city
    (never far for a battery electric vehicle)."""
    vh, o = _h(vehicle.vehicle_id), day.toordinal()
    r = _u(vh, o, 30)
    if r < 0.62:
        distance, destination = 15 + 55 * _u(vh, o, 31), DESTINATIONS_LOCAL[(vh + o) % len(DESTINATIONS_LOCAL)]
    elif r < 0.93 or vehicle.model.energy_type == "battery_electric":
        distance, destination = 70 + 120 * _u(vh, o, 31), DESTINATIONS_COUNTY[(vh + o) % len(DESTINATIONS_COUNTY)]
    else:
        distance, destination = 260 + 160 * _u(vh, o, 31), DESTINATIONS_FAR[(vh + o) % len(DESTINATIONS_FAR)]
    return round(distance, 1), destination


def _trip(vehicle: Vehicle, fleet: Fleet, day: date, odometer: float, distance: float, destination: str) -> list[Step]:
    """One trip of a day: request, dispatch, (approval), start, finish, its GPS track (and a toll)."""
    vh, o = _h(vehicle.vehicle_id), day.toordinal()
    kind = _kind(day)
    evening = kind == "workday" and _u(vh, o, 32) < 0.004
    start_minute = 19 * 60 + 30 if evening else 8 * 60 + int(90 * _u(vh, o, 33))
    hours = distance / 38 + 0.5 + 2.5 * _u(vh, o, 34)
    finish_minute = min(start_minute + int(hours * 60), 23 * 60 + 30 if evening else 18 * 60 + 40)
    finish_minute = max(finish_minute, start_minute + int(distance / 60 * 60) + 10)
    started = _local(day) + timedelta(minutes=start_minute)
    finished = _local(day) + timedelta(minutes=finish_minute)
    outside = kind != "workday" or evening
    approved = outside and _u(vh, o, 35) < 0.6
    requester = vehicle.agency
    if _u(vh, o, 36) < 0.03:  # city-wide dispatch: another district's agency asks, this vehicle serves
        others = [a for a in fleet.agencies if a.district != vehicle.agency.district]
        if others:
            requester = others[(vh + o) % len(others)]
    trip_id = f"TR-{vehicle.vehicle_id}-{day:%Y%m%d}"
    base = f"/trips/{trip_id}"
    steps = [
        Step(
            "vehicles.request_trip",
            "/trips",
            {
                "trip_id": trip_id,
                "agency_id": requester.agency_id,
                "purpose": PURPOSES[(vh + o) % len(PURPOSES)],
                "destination": destination,
                "passengers": 1 + (vh + o) % 4,
                "planned_start": _iso(started - timedelta(minutes=10)),
                "planned_end": _iso(finished + timedelta(minutes=20)),
            },
            f"{trip_id}.request",
        ),
        Step(
            "vehicles.dispatch_trip",
            f"{base}/dispatch",
            {"vehicle_id": vehicle.vehicle_id, "driver": _person_name(random.Random(vh))},
            f"{trip_id}.dispatch",
        ),
    ]
    if approved:
        reason = "节假日应急值守用车" if kind != "workday" else "晚间会议接送，经分管领导批准"
        steps.append(Step("vehicles.approve_trip", f"{base}/approval", {"reason": reason}, f"{trip_id}.approval"))
    steps.append(
        Step(
            "vehicles.start_trip",
            f"{base}/start",
            {"odometer_km": odometer, "started_at": _iso(started)},
            f"{trip_id}.start",
        )
    )
    steps.append(
        Step(
            "vehicles.finish_trip",
            f"{base}/finish",
            {"odometer_km": round(odometer + distance, 1), "finished_at": _iso(finished)},
            f"{trip_id}.finish",
        )
    )
    if _u(vh, o, 37) >= 0.004:  # a few trips' terminals never upload: flagged without GPS
        steps.append(
            Step(
                "vehicles.record_gps_points",
                f"{base}/gps",
                {"trip_id": trip_id, "vehicle_id": vehicle.vehicle_id},
                f"{trip_id}.gps",
                gps_district=vehicle.agency.district,
                track=(vehicle.agency.district, destination, started, finished, vh + o),
            )
        )
    if distance > 150 and _u(vh, o, 38) < 0.6:
        body: dict[str, Any] = {
            "kind": "toll",
            "payee": "江苏交通控股有限公司",
            "amount_fen": fen_from_yuan(round(distance * 0.45, 2)),
            "occurred_on": day.isoformat(),
            "record_id": f"TL-{vehicle.vehicle_id}-{day:%Y%m%d}",
        }
        steps.append(
            Step("vehicles.record_expense", f"/vehicles/{vehicle.vehicle_id}/expenses", body, body["record_id"])
        )
    return steps


def _track(district: str, destination: str, started: datetime, finished: datetime, salt: int) -> list[dict[str, Any]]:
    """A GPS track out and back, a point every five minutes."""
    lat0, lon0 = _district_names(district, "")[1]
    angle = 2 * math.pi * _u(_h(destination), 1)
    reach = 0.05 + 0.5 * _u(_h(destination), 2)
    lat1, lon1 = lat0 + reach * math.sin(angle), lon0 + reach * math.cos(angle)
    minutes = int((finished - started).total_seconds() // 60)
    points = []
    for m in range(0, minutes + 1, 5):
        x = m / max(minutes, 1)
        f = 1 - abs(2 * x - 1)  # out, then back
        jitter = (_u(salt, m) - 0.5) * 0.002
        points.append(
            {
                "at": _iso(started + timedelta(minutes=m)),
                "lat": round(lat0 + (lat1 - lat0) * f + jitter, 5),
                "lon": round(lon0 + (lon1 - lon0) * f - jitter, 5),
            }
        )
    return points[:5000]


# ----------------------------------------------------------------------------------------------------------
# assets
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Asset:
    """An asset of the ledger."""

    asset_id: str
    category: str
    name: str
    location: str
    value_cents: int
    acquired_on: date
    fate: str = ""  # "", "idle", "hand_in"


ASSET_KINDS = [
    # category, name, per person (or per agency when 0), value range (yuan), acquired years back
    ("computers", "台式计算机", 1 / 3, (4200, 6800), (0, 8)),
    ("furniture", "办公桌椅（套）", 1 / 3, (1600, 3600), (0, 18)),
    ("printers", "激光打印机", 1 / 10, (1500, 3200), (0, 9)),
    ("furniture", "文件柜", 1 / 8, (1100, 2100), (0, 16)),
    ("copiers", "多功能数码复印机", 0, (16000, 36000), (0, 8)),
    ("office_equipment", "投影仪", 0, (4000, 9000), (0, 7)),
    ("furniture", "会议桌", 0, (8000, 22000), (0, 15)),
]


def build_assets(agencies: list[Agency], seed: int, today: date) -> None:
    """The ledger of every agency: computers and desks for about a third of the staff, printers, cabinets, a
    copier, a projector and a conference table; about 4 % idle, half of those handed in to the warehouse."""
    for agency in agencies:
        rng = random.Random(f"{seed}:assets:{agency.agency_id}")
        rooms = [p.room.number for p in agency.staff if p.room] or ["101"]
        n = 0
        for category, name, per_person, (low, high), (newest, oldest) in ASSET_KINDS:
            count = max(1, round(len(agency.staff) * per_person)) if per_person else 1
            for _ in range(count):
                n += 1
                acquired = today - timedelta(days=365 * newest + rng.randint(30, 365 * oldest + 30))
                location = rooms[rng.randrange(len(rooms))] if per_person else "会议室"
                asset = Asset(
                    f"ZC{agency.seq:04d}-{n:04d}",
                    category,
                    name,
                    location,
                    rng.randint(low, high) * 100,
                    acquired,
                )
                if rng.random() < 0.04:
                    asset.fate = "hand_in" if rng.random() < 0.5 and category != "copiers" else "idle"
                agency.assets.append(asset)


# ----------------------------------------------------------------------------------------------------------
# energy meters and their readings
# ----------------------------------------------------------------------------------------------------------

OFFICE = [0.15] * 6 + [0.25, 0.5] + [1.0] * 4 + [0.8] + [1.0] * 5 + [0.6, 0.35, 0.35, 0.35, 0.15, 0.15]
HOSPITAL = [0.4] * 6 + [0.5, 0.7] + [1.0] * 10 + [0.7] * 4 + [0.45, 0.45]
CANTEEN = [0.02] * 6 + [0.3, 0.6, 0.4, 0.6, 1.0, 1.0, 0.5, 0.2, 0.2, 0.4, 0.9, 1.0, 0.4] + [0.05] * 5
PROFILES = {"office": OFFICE, "hospital": HOSPITAL, "canteen": CANTEEN}
OFF_DAY_SHARE = {"office": 0.25, "hospital": 0.4, "canteen": 0.1}
"""A weekend or holiday's use against a working day's (offices idle, hospitals' wards only, canteens closed).
The energy service's detector flags a day off above 40 % of the working hours' load (``weekend_share``)."""

_NOISE = [[0.85 + 0.3 * _u(p, s) for s in range(288)] for p in range(64)]
"""Slot-by-slot noise patterns (chosen per meter and day): a meter's 5-minute use is never quite flat."""


@dataclass
class Meter:
    """A meter with its consumption model: counters are a function of absolute time (see ``counter_at``)."""

    meter_id: str
    kind: str
    sub_item: str
    agency: Agency
    building: Building
    daily: float  # use on a working day, in the kind's unit
    profile: str
    multiplier: float = 1.0
    anomaly: str = ""  # spike, night, stuck, gap
    salt: int = 0
    _prefix: dict[date, float] = field(default_factory=dict, repr=False)

    @property
    def serial_no(self) -> str:
        """The device's serial number."""
        model = {"electricity": "DTSD1352", "water": "LXS-50E", "natural_gas": "G25"}[self.kind]
        return f"{model}-{self.salt % 1000000:06d}"

    def day_total(self, day: date) -> float:
        """The day's use: the working-day figure, less on days off, within ±10 % a day."""
        share = 1.0 if _kind(day) == "workday" else OFF_DAY_SHARE[self.profile]
        return self.daily * share * (0.9 + 0.2 * _u(self.salt, day.toordinal()))

    def counter_at_day_start(self, day: date) -> float:
        """Use from ``EPOCH`` to ``day`` plus the counter at ``EPOCH`` (in the kind's unit, before the
        multiplier); computed forward once, in the same order on every run."""
        if not self._prefix:
            self._prefix[EPOCH] = 1000.0 + 50000.0 * _u(self.salt, 1)
        last = max(self._prefix)
        while last < day:
            self._prefix[last + timedelta(days=1)] = self._prefix[last] + self.day_total(last)
            last += timedelta(days=1)
        return self._prefix[day]

    def weights(self, day: date) -> list[float]:
        """The 288 five-minute shares of the day's use (with this meter's anomaly, if any, on its days)."""
        o = day.toordinal()
        workday = _kind(day) == "workday"
        profile = PROFILES[self.profile]
        if workday:
            hourly = list(profile)
        else:
            flat = sum(profile) / 24
            hourly = [flat] * 24
        if self.anomaly == "night" and workday:
            hourly = [v * 5 if (h >= 22 or h < 6) else v for h, v in enumerate(hourly)]
        if self.anomaly == "spike" and (o + self.salt) % 4 == 0:
            hourly[10] *= 4.0
        slots = [hourly[s // 12] for s in range(288)]
        noisy = list(map(operator.mul, slots, _NOISE[_mix(self.salt, o) % 64]))
        if self.anomaly == "stuck" and workday and (o + self.salt) % 11 == 0:
            noisy[9 * 12 : 11 * 12] = [0.0] * 24
        return noisy

    def readings(self, day: date, last_slot: int = 287) -> list[tuple[int, float]]:
        """(slot, counter) of ``day`` up to ``last_slot``: the counter at the end of each 5-minute slot,
        rounded to 0.001 as a meter shows it (its device counts use / multiplier)."""
        start = self.counter_at_day_start(day)
        cumulative = list(itertools.accumulate(self.weights(day)))
        base, step = start / self.multiplier, self.day_total(day) / cumulative[-1] / self.multiplier
        values = [round(base + step * c, 3) for c in cumulative[: last_slot + 1]]
        if self.anomaly == "gap" and (day.toordinal() + self.salt) % 13 == 0:  # two hours without readings
            return [(s, v) for s, v in enumerate(values) if not 24 <= s < 48]
        return list(enumerate(values))

    def initial(self, day: date) -> float:
        """The counter at the start of ``day`` (what the meter shows when installed then)."""
        return round(self.counter_at_day_start(day) / self.multiplier, 3)


def build_meters(agencies: list[Agency], seed: int) -> list[Meter]:
    """A main electricity meter and its four sub-item meters, water, and gas where there is a canteen, per
    building; a few main meters carry an anomaly (a spike, night base load, a stuck counter, missing data)."""
    meters: list[Meter] = []
    for agency in agencies:
        for building in agency.buildings:
            rng = random.Random(f"{seed}:meters:{building.building_id}")
            area = building.gross_area
            profile = "hospital" if agency.kind == "hospital" else "office"
            electricity = area * rng.uniform(0.25, 0.4) * (1.6 if profile == "hospital" else 1.0)
            big = electricity > 1500
            prefix = f"EM{agency.seq:04d}-{building.building_id[-1]}"

            def meter(
                suffix: str,
                kind: str,
                sub: str,
                daily: float,
                prof: str,
                mult: float = 1.0,
                prefix: str = prefix,
                agency: Agency = agency,
                building: Building = building,
            ) -> Meter:
                return Meter(
                    f"{prefix}-{suffix}",
                    kind,
                    sub,
                    agency,
                    building,
                    round(daily, 3),
                    prof,
                    mult,
                    salt=_h(f"{seed}:{prefix}-{suffix}"),
                )

            building.meters.append(meter("E0", "electricity", "none", electricity, profile, 80.0 if big else 1.0))
            shares = {"lighting_sockets": 0.32, "hvac": 0.38, "power": 0.18, "special": 0.12}
            for n, (sub, share) in enumerate(shares.items(), start=1):
                building.meters.append(meter(f"E{n}", "electricity", sub, electricity * share, profile))
            people = len(agency.staff) * (4 if agency.kind == "hospital" else 1)
            building.meters.append(
                meter(
                    "W0",
                    "water",
                    "none",
                    max(2.0, people * 0.07 + area / (250 if agency.kind == "hospital" else 2000)),
                    profile,
                )
            )
            if rng.random() < 0.5 or agency.kind == "hospital":
                building.meters.append(meter("G0", "natural_gas", "none", max(6.0, people * 0.35), "canteen"))
            meters += building.meters
    mains = [m for m in meters if m.kind == "electricity" and m.sub_item == "none"]
    per_kind = max(1, round(len(mains) / 120))
    picks = random.Random(f"{seed}:anomalies").sample(mains, min(len(mains), 4 * per_kind))
    for n, m in enumerate(picks):
        m.anomaly = ("spike", "night", "stuck", "gap")[n % 4]
    return meters


# ----------------------------------------------------------------------------------------------------------
# the platform's interfaces: HTTP and the district topics
# ----------------------------------------------------------------------------------------------------------


class Phase:
    """A progress bar for the commands of one phase, safe to advance from worker threads."""

    def __init__(self, label: str, total: int | None) -> None:
        self.progress = Progress(f"{label:<22}", total)
        self.lock = threading.Lock()

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more done."""
        with self.lock:
            self.progress.advance(count)

    def finish(self) -> dict[str, Any]:
        """The final line and the summary."""
        with self.lock:
            return self.progress.finish()


class Api:
    """The gateway's HTTP API: one keep-alive connection per thread, retries, idempotency keys, outcomes."""

    def __init__(self, gateway: str, token: str, seed: int, timeout: float = 120.0) -> None:
        parts = urllib.parse.urlsplit(gateway)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.base = parts.path.rstrip("/") + "/api/v1"
        self.token, self.seed, self.timeout = token, seed, timeout
        self.local = threading.local()
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.refusals: Counter[tuple[str, str]] = Counter()
        self.examples: list[str] = []
        self.phase: Phase | None = None

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return conn

    def _reset(self) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is not None:
            conn.close()
        self.local.conn = None

    def raw(
        self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """One request (reconnecting once on a dropped keep-alive connection); OSError when unreachable."""
        send = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})}
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.request(method, url, body=body, headers=send)
                response = conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self._reset()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, **params: Any) -> Any:
        """A query; None when it is not answered with 200."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        for attempt in range(6):
            try:
                status, raw = self.raw("GET", self.base + path + (f"?{query}" if query else ""))
            except OSError:
                time.sleep(1 + attempt)
                continue
            if status == 200:
                return json.loads(raw)
            if status not in (502, 503, 504):
                return None
            time.sleep(1 + attempt)
        return None

    def key(self, name: str, ident: str) -> str:
        """The Idempotency-Key of a command: the same on every run with the same seed."""
        key = f"demo{self.seed}.{name}.{ident}"
        return key if len(key) <= 100 else f"demo{self.seed}.{hashlib.sha256(key.encode()).hexdigest()[:40]}"

    def post(self, name: str, path: str, body: dict[str, Any], ident: str) -> dict[str, Any] | None:
        """A command with its Idempotency-Key; retried while the refusal passes. None when refused for good."""
        data = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Idempotency-Key": self.key(name, ident)}
        started = time.monotonic()
        attempt = 0
        answer: Any = None
        while True:
            attempt += 1
            try:
                status, raw = self.raw("POST", self.base + path, data, headers)
                answer = _json(raw)
            except OSError as exc:
                status, answer = 0, {"error": "unreachable", "message": str(exc)}
            code = answer.get("error") if isinstance(answer, dict) else None
            if 200 <= status < 300:
                return self._done("ok", answer)
            if code in EXISTS_CODES:
                return self._done("exists", answer)
            passing = status in (0, 502, 503, 504) or code in RETRY_CODES
            if passing and time.monotonic() - started < 180 and attempt < 40:
                time.sleep(min(8.0, 0.25 * 2 ** min(attempt, 5)))
                continue
            with self.lock:
                self.refusals[(name, str(code or status))] += 1
                if len(self.examples) < 12:
                    self.examples.append(f"{name} {path}: {status} {json.dumps(answer, ensure_ascii=False)[:300]}")
            self._done("refused", None)
            return None

    def _done(self, outcome: str, answer: Any) -> dict[str, Any]:
        with self.lock:
            self.outcomes[outcome] += 1
        if self.phase is not None:
            self.phase.advance()
        return answer if isinstance(answer, dict) else {}

    def metrics(self) -> str:
        """The gateway's Prometheus text (no token needed)."""
        try:
            status, raw = self.raw("GET", "/metrics")
        except OSError:
            return ""
        return raw.decode(errors="replace") if status == 200 else ""


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:300]


_SAMPLE = re.compile(r"^(gov_events_projected_total|gov_dead_lettered_total)\{([^}]*)\}\s+([0-9.eE+]+)$", re.M)


def inbound_counts(text: str) -> tuple[int, Counter[str]]:
    """District messages the gateway handled, and those it refused by reason, since it started."""
    handled, refused = 0, Counter[str]()
    for name, labels, value in _SAMPLE.findall(text):
        tags = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if tags.get("service") != "gateway":
            continue
        if name == "gov_events_projected_total" and tags.get("projector") == "district-inbound":
            handled += int(float(value))
        elif name == "gov_dead_lettered_total" and tags.get("topic", "").endswith(".inbound"):
            refused[tags.get("reason", "?")] += int(float(value))
    return handled, refused


class Topics:
    """The district inbound topics, as a district's systems send to them."""

    def __init__(self, bootstrap: str) -> None:
        from services.common.broker import make_producer

        self.producer = make_producer(bootstrap, linger_ms=20, client_id="demo-loader")
        self.sent = 0
        self.pending: list[Any] = []
        self.lock = threading.Lock()  # vehicle histories send GPS tracks from several threads

    def send(self, district: str, message_type: str, message_id: str, payload: dict[str, Any] | str, key: str) -> None:
        """Send one message (``payload`` as a dict, or as JSON text already)."""
        body = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        envelope = json.dumps(
            {
                "message_id": message_id,
                "message_type": message_type,
                "schema_version": latest_inbound_version(message_type),
                "district": district,
                "sent_at": _iso(datetime.now(CST)),
            },
            ensure_ascii=False,
        )
        value = (envelope[:-1] + ', "payload": ' + body + "}").encode()
        future = self.producer.send(f"district.{district}.inbound", key=key.encode(), value=value)
        with self.lock:
            self.pending.append(future)
            self.sent += 1
            full = len(self.pending) >= 2000
        if full:
            self.flush()

    def flush(self) -> None:
        """Wait until the broker has every message sent so far."""
        self.producer.flush()
        with self.lock:
            pending, self.pending = self.pending, []
        for future in pending:
            future.get(timeout=60)

    def close(self) -> None:
        """Flush and close the producer."""
        self.flush()
        self.producer.close()


# ----------------------------------------------------------------------------------------------------------
# the loader
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Options:
    """The command line."""

    gateway: str
    bootstrap: str
    token: str
    scale: float
    days: int
    seed: int
    workers: int
    trips_per_month: float
    readings_via: str
    timeout: float
    summary_json: Path | None
    history_dir: Path | None


class Loader:
    """Loads the city phase by phase and keeps the counts for the summary."""

    def __init__(self, options: Options) -> None:
        self.o = options
        self.api = Api(options.gateway, options.token, options.seed)
        self.topics: Topics | None = None
        self.now = datetime.now(CST)
        self.today = self.now.date()
        self.counts: Counter[str] = Counter()
        self.phases: list[dict[str, Any]] = []
        self.inbound_start = (0, Counter[str]())
        self.warnings: list[str] = []
        self.quantities: dict[str, int] = {}

    # -- running commands ----------------------------------------------------------------------------

    def run(self, label: str, total: int, tasks: Iterable[Callable[[], None]]) -> None:
        """Run ``tasks`` (each a sequence of commands) on the thread pool with a progress bar of ``total``."""
        phase = Phase(label, total)
        self.api.phase = phase
        try:
            with ThreadPoolExecutor(self.o.workers) as pool:
                futures = [pool.submit(task) for task in tasks]
                for future in as_completed(futures):
                    future.result()
        finally:
            self.api.phase = None
            self.phases.append(phase.finish())

    def topic(self) -> Topics:
        """The producer of district messages (made on first use)."""
        if self.topics is None:
            self.topics = Topics(self.o.bootstrap)
        return self.topics

    # -- the phases ----------------------------------------------------------------------------------

    def load(self) -> dict[str, Any]:
        """Every phase, then the wait for the data center; the summary."""
        started = time.monotonic()
        self.check_gateway()
        config = settings()
        districts = config.districts
        self.agencies = build_agencies(districts, self.o.scale, self.o.seed, self.today)
        build_vehicles(self.agencies, self.o.scale, self.o.seed, self.today, self.o.trips_per_month)
        build_assets(self.agencies, self.o.seed, self.today)
        self.meters = build_meters(self.agencies, self.o.seed)
        self.keepers = {a.district: a for a in self.agencies if a.keeper}
        print(
            f"demo city (seed {self.o.seed}, scale {self.o.scale:g}): {len(districts)} districts, "
            f"{len(self.agencies)} agencies, {sum(len(a.vehicles) for a in self.agencies)} vehicles, "
            f"{len(self.meters)} meters, {self.o.days} days of readings",
            file=sys.stderr,
        )
        self.inbound_start = inbound_counts(self.api.metrics())
        self.load_agencies()
        self.load_office_space()
        self.load_meters()
        self.send_readings()
        self.load_vehicles()
        self.load_assets()
        self.load_catalog()
        self.load_history()
        self.load_procurement()
        self.wait_for_district_messages()
        self.run_checks()
        city = self.wait_for_data_center()
        return self.summary(city, time.monotonic() - started)

    def check_gateway(self) -> None:
        """Stop early, with a reason, when the gateway does not answer or refuses the token."""
        try:
            status, _ = self.api.raw("GET", self.api.base + "/projections")
        except OSError as exc:
            raise SystemExit(
                f"the gateway at {self.o.gateway} does not answer ({exc}); start it with `make run`"
            ) from None
        if status in (401, 403):
            raise SystemExit(f"the gateway refuses the token ({status}); pass --token or check var/admin.token")

    def load_agencies(self) -> None:
        """City agencies through the API, the districts' own through their inbound topics; then wait until the
        data center's directory has them all."""
        city = [a for a in self.agencies if a.district == CITY_CODE or a.keeper]
        county = [a for a in self.agencies if a not in city]
        phase = Phase("agencies", len(self.agencies))

        def register(a: Agency) -> None:
            self.api.post("office_space.register_agency", "/agencies", _agency_body(a), a.agency_id)

        with ThreadPoolExecutor(self.o.workers) as pool:
            list(pool.map(register, city))
        if county:
            topics = self.topic()
            for a in county:
                topics.send(
                    a.district,
                    "office_space.register_agency",
                    f"demo-agency-{a.agency_id}",
                    _agency_body(a),
                    a.agency_id,
                )
            topics.flush()
        expected: dict[str, set[str]] = {}
        for a in self.agencies:
            expected.setdefault(a.district, set()).add(a.agency_id)
        seen: set[str] = set()
        deadline = time.monotonic() + self.o.timeout
        while time.monotonic() < deadline:
            for district, ids in expected.items():
                if ids <= seen:
                    continue
                for offset in itertools.count(0, 500):
                    page = self.api.get("/agencies", district=district, limit=500, offset=offset) or {}
                    items = page.get("items", [])
                    seen |= {row.get("agency_id") for row in items} & ids
                    if len(items) < 500:
                        break
            phase.advance(len(seen) - phase.progress.done)
            if all(ids <= seen for ids in expected.values()):
                break
            time.sleep(1.0)
        else:
            self.warnings.append(f"only {len(seen)} of {len(self.agencies)} agencies reached the directory in time")
        self.counts["agencies"] = len(self.agencies)
        self.phases.append(phase.finish())

    def load_office_space(self) -> None:
        """Per agency: buildings, rooms, staff posted, offices allocated (a few above the standard with the city
        administration's exception), a few retirements whose rooms were not handed back."""
        total = sum(
            len(a.buildings)
            + sum(len(b.rooms) for b in a.buildings)
            + 2 * len(a.staff)
            + sum(bool(p.departed_on) for p in a.staff)
            for a in self.agencies
        )
        self.run("office space", total, [functools.partial(self._office_space, a) for a in self.agencies])
        self.counts["buildings"] = sum(len(a.buildings) for a in self.agencies)
        self.counts["rooms"] = sum(len(b.rooms) for a in self.agencies for b in a.buildings)
        self.counts["staff"] = sum(len(a.staff) for a in self.agencies)

    def _office_space(self, a: Agency) -> None:
        api = self.api
        for b in a.buildings:
            api.post(
                "office_space.register_building",
                "/buildings",
                {
                    "building_id": b.building_id,
                    "agency_id": a.agency_id,
                    "name": b.name,
                    "address": b.address,
                    "gross_floor_area_m2": b.gross_area,
                },
                b.building_id,
            )
            for r in b.rooms:
                api.post(
                    "office_space.add_room",
                    f"/buildings/{b.building_id}/rooms",
                    {"room_id": r.room_id, "number": r.number, "usable_area_m2": r.area, "use": r.use},
                    f"{b.building_id}.{r.room_id}",
                )
        for p in a.staff:
            api.post(
                "office_space.post_staff",
                f"/agencies/{a.agency_id}/staff",
                {"person_id": p.person_id, "name": p.name, "rank": p.rank, "posted_on": p.posted_on.isoformat()},
                p.person_id,
            )
        for p in a.staff:
            if p.room is None:
                continue
            building = next(b for b in a.buildings if p.room in b.rooms)
            body: dict[str, Any] = {"person_id": p.person_id, "agency_id": a.agency_id}
            if p.room.over_standard:
                body["exception_reason"] = "历史遗留，位于老办公楼内无法分隔，已列入调整计划"
            api.post(
                "office_space.allocate_room",
                f"/buildings/{building.building_id}/rooms/{p.room.room_id}/allocations",
                body,
                f"{building.building_id}.{p.room.room_id}.{p.person_id}",
            )
        for p in a.staff:
            if p.departed_on:
                api.post(
                    "office_space.record_departure",
                    f"/agencies/{a.agency_id}/staff/{p.person_id}/departure",
                    {"reason": "retired", "departed_on": p.departed_on.isoformat()},
                    p.person_id,
                )

    def load_meters(self) -> None:
        """Meters installed at the start of the readings window, the 2020 annual reports (the baseline) and this
        year's energy quota of about a quarter of the agencies."""
        self.window_start = self.today - timedelta(days=self.o.days)
        installed_at = _iso(_local(self.window_start))
        by_agency: dict[str, list[Meter]] = {}
        for m in self.meters:
            by_agency.setdefault(m.agency.agency_id, []).append(m)
        quota_agencies = [a for a in self.agencies if a.seq % 4 == 1 and a.agency_id in by_agency]

        def install(m: Meter) -> None:
            self.api.post(
                "energy.install_meter",
                "/meters",
                {
                    "meter_id": m.meter_id,
                    "serial_no": m.serial_no,
                    "kind": m.kind,
                    "agency_id": m.agency.agency_id,
                    "district": m.agency.district,
                    "building_id": m.building.building_id,
                    "sub_item": m.sub_item,
                    "multiplier": m.multiplier,
                    "initial_reading": m.initial(self.window_start),
                    "installed_at": installed_at,
                },
                m.meter_id,
            )

        def report(a: Agency) -> None:
            mains = [m for m in by_agency.get(a.agency_id, []) if m.sub_item == "none"]
            rng = random.Random(f"{self.o.seed}:baseline:{a.agency_id}")
            totals: dict[str, float] = {}
            for m in mains:
                year = m.daily * (250 + 115 * OFF_DAY_SHARE[m.profile]) * rng.uniform(1.08, 1.25)
                totals[m.kind] = round(totals.get(m.kind, 0.0) + year, 1)
            self.baseline_tce[a.agency_id] = (
                totals.get("electricity", 0) * 0.1229 + totals.get("natural_gas", 0) * 1.2143
            ) / 1000
            self.api.post(
                "energy.report_annual_consumption",
                "/energy/annual-reports",
                {
                    "agency_id": a.agency_id,
                    "district": a.district,
                    "year": 2020,
                    "totals": totals,
                    "source": "2020年度公共机构能源资源消费统计年报",
                },
                f"{a.agency_id}.2020",
            )

        def quota(a: Agency) -> None:
            limit = round(max(self.baseline_tce.get(a.agency_id, 1.0), 0.5) * (0.9 + 0.06 * (a.seq % 3)), 2)
            self.api.post(
                "energy.set_quota",
                "/energy/quotas",
                {
                    "agency_id": a.agency_id,
                    "district": a.district,
                    "year": self.today.year,
                    "basis": "absolute",
                    "limit": limit,
                },
                f"{a.agency_id}.{self.today.year}",
            )

        self.baseline_tce: dict[str, float] = {}
        reporters = [a for a in self.agencies if a.agency_id in by_agency]
        tasks: list[Callable[[], None]] = [functools.partial(install, m) for m in self.meters]
        tasks += [functools.partial(report, a) for a in reporters]
        self.run("energy meters", len(tasks), tasks)
        self.run("energy quotas", len(quota_agencies), [functools.partial(quota, a) for a in quota_agencies])
        self.quota_agencies = [a.agency_id for a in quota_agencies]
        self.counts["meters"] = len(self.meters)
        self.counts["annual_reports"] = len(reporters)
        self.counts["energy_quotas"] = len(quota_agencies)

    def send_readings(self) -> None:
        """``--days`` of 5-minute readings of every meter up to now, day by day, in batches of many meters:
        as messages on the district topics (``energy.record_readings``), or ``POST /meter-readings``."""
        end = self.now.replace(second=0, microsecond=0)
        end -= timedelta(minutes=end.minute % 5)
        days = [self.window_start + timedelta(days=n) for n in range((self.today - self.window_start).days + 1)]
        via_http = self.o.readings_via == "http"
        size = METERS_PER_REQUEST if via_http else METERS_PER_MESSAGE
        chunks: list[tuple[str, int, list[Meter]]] = []
        by_district: dict[str, list[Meter]] = {}
        for m in self.meters:
            by_district.setdefault(m.agency.district, []).append(m)
        for district, meters in sorted(by_district.items()):
            for n in range(0, len(meters), size):
                chunks.append((district, n // size, meters[n : n + size]))
        slots_total = 0
        plan: list[tuple[date, int]] = []
        for day in days:
            last = int((end - _local(day)).total_seconds() // 300) - 1 if day == self.today else 287
            if last >= 0:
                plan.append((day, last))
                slots_total += last + 1
        total = slots_total * len(self.meters)
        phase = Phase(f"readings ({'http' if via_http else 'topics'})", total)
        stamps_cache: dict[date, list[str]] = {}
        sent: Counter[str] = Counter()
        lock = threading.Lock()

        def stamps(day: date) -> list[str]:
            marks = stamps_cache.get(day)
            if marks is None:
                base = _local(day)
                marks = stamps_cache[day] = [_iso(base + timedelta(minutes=5 * (s + 1))) for s in range(288)]
            return marks

        def done(meters: list[Meter], last: int, count: int) -> None:
            with lock:
                sent["messages"] += 1
                sent["readings"] += count
            phase.advance(len(meters) * (last + 1))

        def batch(day: date, last: int, meters: list[Meter]) -> tuple[str, int]:
            marks = stamps(day)
            parts, count = [], 0
            for m in meters:
                values = m.readings(day, last)
                count += len(values)
                readings = ",".join(f'["{marks[s]}",{v!r}]' for s, v in values)
                parts.append(f'{{"meter_id":"{m.meter_id}","readings":[{readings}]}}')
            return ",".join(parts), count

        if via_http:

            def post(day: date, last: int, district: str, n: int, meters: list[Meter]) -> None:
                body, count = batch(day, last, meters)
                message_id = _readings_id(self.o.seed, district, n, day, last)
                self._post_readings(message_id, body)
                done(meters, last, count)

            with ThreadPoolExecutor(2) as pool:
                for day, last in plan:
                    futures = [pool.submit(post, day, last, d, n, ms) for d, n, ms in chunks]
                    for future in as_completed(futures):
                        future.result()
        else:
            topics = self.topic()
            for day, last in plan:
                for district, n, meters in chunks:
                    body, count = batch(day, last, meters)
                    message_id = _readings_id(self.o.seed, district, n, day, last)
                    topics.send(
                        district,
                        "energy.record_readings",
                        message_id,
                        f'{{"message_id":"{message_id}","meters":[{body}]}}',
                        f"readings-{district}-{n}",
                    )
                    done(meters, last, count)
            topics.flush()
        self.phases.append(phase.finish())
        self.counts["readings"] = sent["readings"]
        self.counts["readings_batches"] = sent["messages"]

    def _post_readings(self, message_id: str, body: str) -> None:
        data = f'{{"message_id":"{message_id}","meters":[{body}]}}'.encode()
        for attempt in range(30):
            try:
                status, raw = self.api.raw("POST", self.api.base + "/meter-readings", data)
            except OSError:
                status, raw = 0, b""
            if status == 200:
                answer = _json(raw)
                if isinstance(answer, dict) and answer.get("rejected"):
                    for reason, n in (answer.get("rejected_by_reason") or {}).items():
                        self.api.refusals[("energy.record_readings", reason)] += n
                return
            if status not in (0, 502, 503, 504):
                self.api.refusals[("energy.record_readings", str(status))] += 1
                self.api.examples.append(f"readings {message_id}: {status} {raw[:300]!r}")
                return
            time.sleep(min(10, 1 + attempt))

    def load_vehicles(self) -> None:
        """The fleet's past through the importer (``fleet_files``: quotas, vehicles acquired before this year,
        old vehicles and their disposal when it was before this year); then, through the API, the other quotas,
        this year's disposals, this year's new-energy acquisitions, then conventional ones, then each vehicle's
        year of trips and costs in time order; GPS tracks go through the vehicle's district topic."""
        api = self.api
        fleets = [a for a in self.agencies if a.vehicle_quota]
        histories: dict[str, tuple[float, list[Step]]] = {}
        fleet = Fleet(self.agencies)
        vehicles = [v for a in self.agencies for v in a.vehicles]
        simulated = Phase("vehicle histories", len(vehicles))
        for v in vehicles:
            histories[v.vehicle_id] = vehicle_history(v, fleet, self.today, self.o.seed)
            simulated.advance()
        simulated.finish()
        odometers = {ident: odometer for ident, (odometer, _) in histories.items()}
        past = self.import_past(
            "vehicles' past", fleet_files(self.agencies, odometers, self.today, self.o.seed, self.o.scale)
        )
        self.counts["past_rows"] += past.accepted
        this_year = date(self.today.year, 1, 1)
        quotas = {a.agency_id for a in fleets if not any(_past_vehicle(v, this_year) for v in _fleet_of(a))}
        disposals = {
            old.vehicle_id
            for v in vehicles
            if (old := v.replaces) is not None and (old.disposed_on or self.today) >= this_year
        }
        total = (
            len(quotas)
            + sum(1 for v in vehicles if not _past_vehicle(v, this_year))
            + len(disposals)
            + sum(sum(1 for s in steps if s.gps_district is None) for _, steps in histories.values())
        )
        phase = Phase("vehicles", total)
        api.phase = phase

        def register(v: Vehicle) -> None:
            api.post("vehicles.register_vehicle", "/vehicles", _vehicle_body(v, odometers[v.vehicle_id]), v.vehicle_id)

        def first_wave(a: Agency) -> None:
            if a.agency_id in quotas:
                api.post(
                    "vehicles.set_vehicle_quota",
                    f"/agencies/{a.agency_id}/vehicle-quota",
                    _quota_body(a),
                    a.agency_id,
                )
            for v in a.vehicles:
                if (old := v.replaces) is not None and old.vehicle_id in disposals:
                    api.post(
                        "vehicles.dispose_vehicle",
                        f"/vehicles/{old.vehicle_id}/disposal",
                        _disposal_body(old, self.today),
                        old.vehicle_id,
                    )
            for v in a.vehicles:
                if v.new_energy and not _past_vehicle(v, this_year):
                    register(v)

        def second_wave(a: Agency) -> None:
            for v in a.vehicles:
                if not v.new_energy and not _past_vehicle(v, this_year):
                    register(v)

        topics = self.topic()
        gps_sent = Counter[str]()

        def history(v: Vehicle) -> None:
            for step in histories[v.vehicle_id][1]:
                if step.gps_district is not None:  # the terminal uploads the track once the trip is over
                    trip = step.body["trip_id"]
                    body = {**step.body, "points": _track(*step.track)} if step.track else step.body
                    topics.send(step.gps_district, "vehicles.record_gps_points", f"demo-gps-{trip}", body, trip)
                    gps_sent[v.vehicle_id] += 1
                    continue
                answer = api.post(step.name, step.path, step.body, step.key)
                if answer is None and step.name == "vehicles.start_trip":
                    return  # the rest of this vehicle's history would be refused too; the refusal is reported

        try:
            with ThreadPoolExecutor(self.o.workers) as pool:
                list(pool.map(first_wave, fleets))
                list(pool.map(second_wave, fleets))
                list(pool.map(history, vehicles))
        finally:
            api.phase = None
            self.phases.append(phase.finish())
        topics.flush()
        self.counts["vehicles"] = len(vehicles)
        self.counts["new_energy_vehicles"] = sum(v.new_energy for v in vehicles)
        self.counts["trips"] = sum(
            1 for _, steps in histories.values() for s in steps if s.name == "vehicles.request_trip"
        )
        self.counts["gps_tracks"] = sum(gps_sent.values())
        self.counts["vehicle_cost_records"] = sum(
            1
            for _, steps in histories.values()
            for s in steps
            if s.name
            in ("vehicles.record_fuel", "vehicles.record_charging", "vehicles.record_repair", "vehicles.record_expense")
        )

    def load_assets(self) -> None:
        """Each agency's ledger, idle assets and hand-ins to its district's warehouse; then a warehouse request
        met from idle stock, one that authorises a purchase, a conference loan, a disposal and a stock-take
        whose counts a district system sends. Assets acquired before this year come in through the importer
        (``ledger_files``), in the order they were acquired; this year's are registered through the API."""
        api = self.api
        past = self.import_past("assets' past", ledger_files(self.agencies, self.today, self.o.seed, self.o.scale))
        self.counts["past_rows"] += past.accepted
        this_year = date(self.today.year, 1, 1)
        total = sum(
            sum(x.acquired_on >= this_year for x in a.assets)
            + sum(2 if x.fate == "hand_in" else (1 if x.fate else 0) for x in a.assets)
            for a in self.agencies
        )

        def ledger(a: Agency) -> None:
            keeper = self.keepers.get(a.district)
            for x in a.assets:
                if x.acquired_on < this_year:
                    continue  # the importer's
                api.post(
                    "assets.register_asset",
                    "/assets",
                    _asset_body(a, x),
                    x.asset_id,
                )
            for x in a.assets:
                if not x.fate:
                    continue
                api.post(
                    "assets.mark_asset_idle", f"/assets/{x.asset_id}/idle", {"reason": "人员调整后闲置"}, x.asset_id
                )
                if x.fate == "hand_in" and keeper is not None and keeper is not a:
                    api.post(
                        "assets.hand_in_asset",
                        f"/assets/{x.asset_id}/hand-in",
                        {"warehouse_id": keeper.agency_id, "condition": "good"},
                        x.asset_id,
                    )

        self.run("assets", total, [functools.partial(ledger, a) for a in self.agencies])
        self.counts["assets"] = sum(len(a.assets) for a in self.agencies)
        self.counts["idle_assets"] = sum(1 for a in self.agencies for x in a.assets if x.fate)
        phase = Phase("warehouse & stock-take", None)
        api.phase = phase
        try:
            self._warehouse_and_stocktake()
        finally:
            api.phase = None
            self.phases.append(phase.finish())

    def _warehouse_and_stocktake(self) -> None:
        api = self.api
        city_keeper = self.keepers.get(CITY_CODE) or next(iter(self.keepers.values()))
        handed = [
            (a, x)
            for a in self.agencies
            for x in a.assets
            if x.fate == "hand_in" and self.keepers.get(a.district) is not a
        ]
        borrower = next((a for a in self.agencies if a.district == city_keeper.district and a is not city_keeper), None)
        in_city = [x for a, x in handed if a.district == city_keeper.district]
        furniture = [x for a, x in handed if x.category == "furniture"]
        requester = next(
            (a for a in self.agencies if a.district == CITY_CODE and a.kind == "party_government" and not a.keeper),
            None,
        )
        if requester is not None and furniture:
            api.post(
                "assets.request_assets",
                "/warehouse/requests",
                {
                    "request_id": "WR-DEMO-1",
                    "agency_id": requester.agency_id,
                    "category": "furniture",
                    "quantity": 1,
                    "min_condition": "fair",
                    "location": "新进人员办公室",
                },
                "WR-DEMO-1",
            )
            self.counts["warehouse_requests"] += 1
        self.authorisation: tuple[Agency, str, int] | None = None
        if requester is not None:
            answer = api.post(
                "assets.request_assets",
                "/warehouse/requests",
                {
                    "request_id": "WR-DEMO-2",
                    "agency_id": requester.agency_id,
                    "category": "furniture",
                    "quantity": min(1000, len(furniture) + 25),
                    "min_condition": "good",
                    "location": "新办公楼会议中心",
                },
                "WR-DEMO-2",
            )
            self.counts["warehouse_requests"] += 1
            if answer and answer.get("purchase_authorised"):
                self.authorisation = (requester, "WR-DEMO-2", int(answer["purchase_authorised"]))
        lendable = [x for x in in_city if x.category != "furniture" or x not in furniture[:1]]
        if borrower is not None and lendable:
            api.post(
                "assets.lend_assets",
                "/warehouse/loans",
                {
                    "loan_id": f"LN-DEMO-{self.today.year}",
                    "agency_id": borrower.agency_id,
                    "purpose": "conference",
                    "occasion": "全市机关事务工作会议",
                    "asset_ids": [x.asset_id for x in lendable[:2]],
                    "due_on": (self.today + timedelta(days=10)).isoformat(),
                },
                f"LN-DEMO-{self.today.year}",
            )
            self.counts["loans"] += 1
        busy = {id(requester), id(borrower)}  # their ledgers change here: no stock-take for them
        old = [
            (a, x)
            for a in self.agencies
            for x in a.assets
            if not x.fate and x.category in ("computers", "printers") and (self.today - x.acquired_on).days > 7 * 365
        ]
        if old:
            a = old[0][0]
            ids = [x.asset_id for b, x in old if b is a][:3]
            busy.add(id(a))
            ident = f"DSP-{a.seq:04d}"
            done = api.post(
                "assets.apply_disposal",
                "/disposals",
                {
                    "disposal_id": ident,
                    "agency_id": a.agency_id,
                    "asset_ids": ids,
                    "method": "scrap",
                    "reason": "已超过最低使用年限且经鉴定无维修价值",
                },
                ident,
            )
            if done is not None:
                api.post("assets.decide_disposal", f"/disposals/{ident}/decision", {"approve": True}, ident)
                api.post("assets.complete_disposal", f"/disposals/{ident}/completion", {"proceeds_cents": 15000}, ident)
                self.counts["disposals"] += 1
        # a stock-take per district: counts come from the district's system; one item missing, one elsewhere
        self.stocktakes: list[str] = []
        for district in sorted(self.keepers):
            agency = next(
                (
                    a
                    for a in self.agencies
                    if a.district == district and not a.keeper and len(a.assets) >= 4 and id(a) not in busy
                ),
                None,
            )
            if agency is None:
                continue
            ident = f"ST-{agency.seq:04d}-{self.today.year}"
            if (
                api.post(
                    "assets.open_stocktake",
                    "/stocktakes",
                    {"stocktake_id": ident, "agency_id": agency.agency_id},
                    ident,
                )
                is None
            ):
                continue
            present = [x for x in agency.assets if x.fate != "hand_in"]  # idle ones are still where they were
            by_place: dict[str, list[str]] = {}
            for n, x in enumerate(present):
                if n == 0:
                    continue  # not found
                place = present[0].location if n == 1 and x.location != present[0].location else x.location
                by_place.setdefault(place, []).append(x.asset_id)
            for n, (place, ids) in enumerate(sorted(by_place.items())):
                self.topic().send(
                    district,
                    "assets.record_stocktake_counts",
                    f"demo-{ident}-{n}",
                    {"stocktake_id": ident, "location": place, "asset_ids": ids, "counted_on": self.today.isoformat()},
                    ident,
                )
            self.stocktakes.append(ident)
        if self.topics is not None:
            self.topics.flush()
        self.counts["stocktakes"] = len(self.stocktakes)

    def load_catalog(self) -> None:
        """The procurement catalog (集中采购目录): it carries no date, so it comes before the history that names it."""
        api = self.api
        phase = Phase("catalog", None)
        api.phase = phase
        try:
            for code, name, category, unit in CATALOG:
                api.post(
                    "procurement.list_catalog_item",
                    "/catalog-items",
                    {"item_code": code, "name": name, "category": category, "unit": unit},
                    code,
                )
            self.counts["catalog_items"] = len(CATALOG)
        finally:
            api.phase = None
            self.phases.append(phase.finish())

    def load_history(self) -> None:
        """Last year's procurement through the importer, as a city brings its past in (``import_past``)."""
        year = self.today.year - 1
        summary = self.import_past("history", history_files(self.agencies, year, self.o.seed, self.o.scale))
        self.counts["history_rows"] = summary.accepted

    def import_past(self, label: str, files: dict[str, list[dict[str, Any]]]) -> importer.Summary:
        """Facts of the city's past through the importer: the files written (to ``--history-dir``, or a
        temporary directory), read, ordered and sent by ``infra.local.importer`` with this run's token. A row the
        platform refuses is a refusal of the demo (``history.<fact>``); one already there (a re-run whose keys
        have expired) is not."""
        with tempfile.TemporaryDirectory(prefix="demo-history-") as scratch:
            folder = self.o.history_dir or Path(scratch)
            folder.mkdir(parents=True, exist_ok=True)
            rows = importer.read_rows(write_history(folder, files))
            gateway = importer.Gateway(self.o.gateway, self.o.token, min(self.o.timeout, 120.0))
            # the state of this run only: another platform (or a fresh one) receives every row, and a re-run on
            # this one is answered by the gateway from the rows' Idempotency-Keys
            phase = Phase(label, len(rows))
            summary = importer.run(rows, gateway, Path(scratch) / "import-state.json", progress_every=100)
            phase.advance(summary.total)
            self.phases.append(phase.finish())
        refused = Counter(
            {
                (f"history.{fact}", code): n
                for reason, n in summary.refusals.items()
                for fact, _, code in [reason.partition(": ")]
                if code not in EXISTS_CODES
            }
        )
        self.api.refusals.update(refused)
        if refused:
            self.api.examples += [json.dumps(e, ensure_ascii=False) for e in summary.examples[:4]]
        return summary

    def load_procurement(self) -> None:
        """A budget line per agency, purchase requests (a few from district systems), a batch tender for copy
        paper with an abnormally low bid, a furniture tender for the warehouse's authorised purchase, contracts,
        deliveries and acceptance, and the canteen-ingredient price watch (the catalog is ``load_catalog``'s)."""
        api = self.api
        phase = Phase("procurement", None)
        api.phase = phase
        try:

            def budget(a: Agency) -> None:
                api.post(
                    "procurement.open_budget_line",
                    "/budget-lines",
                    {
                        "budget_line_id": f"BL-{self.today.year}-{a.seq:04d}",
                        "agency_id": a.agency_id,
                        "year": self.today.year,
                        "purpose": "办公用品及设备购置",
                        "amount_cents": (len(a.staff) * 2500 + 100_000) * 100,
                    },
                    f"{a.seq}",
                )

            with ThreadPoolExecutor(self.o.workers) as pool:
                list(pool.map(budget, self.agencies))
            self.counts["budget_lines"] = len(self.agencies)
            requesters = [a for a in self.agencies if a.seq % 3 == 0]
            city_requests: list[str] = []
            for a in requesters:
                ident = f"PR-{self.today.year}-{a.seq:04d}"
                self.quantities[ident] = 10 + len(a.staff) * 2
                body: dict[str, Any] = {
                    "request_id": ident,
                    "agency_id": a.agency_id,
                    "item_code": "A0501-A4PAPER",
                    "quantity": self.quantities[ident],
                    "estimated_unit_price_cents": 24500,
                    "budget_line_id": f"BL-{self.today.year}-{a.seq:04d}",
                }
                if a.district == CITY_CODE:
                    if api.post("procurement.submit_purchase_request", "/purchase-requests", body, ident) is not None:
                        city_requests.append(ident)
                else:
                    self.topic().send(
                        a.district, "procurement.submit_purchase_request", f"demo-{ident}", body, a.agency_id
                    )
            if self.topics is not None:
                self.topics.flush()
            self.counts["purchase_requests"] = len(requesters)
            self._tenders(city_requests)
            self._price_watch()
        finally:
            api.phase = None
            self.phases.append(phase.finish())

    def _tenders(self, paper_requests: list[str]) -> None:
        api = self.api
        closes = _iso(datetime.now(CST) + timedelta(seconds=12))
        tenders: list[tuple[str, list[tuple[str, str, int, bool]], list[str], str]] = []
        if paper_requests:
            ident = f"TD-{self.today.year}-PAPER"
            api.post(
                "procurement.open_tender",
                "/tenders",
                {
                    "tender_id": ident,
                    "district": CITY_CODE,
                    "request_ids": paper_requests[:200],
                    "reference_unit_price_cents": 24500,
                    "closes_at": closes,
                },
                ident,
            )
            bids = [
                ("B1", "SUP-JS-0001", 23800, True),
                ("B2", "SUP-JS-0002", 24400, True),
                ("B3", "SUP-JS-0003", 23200, True),
                ("B4", "SUP-JS-0004", 14900, False),
            ]
            tenders.append((ident, bids, paper_requests[:200], "office_supplies"))
        if self.authorisation is not None:
            agency, authorisation, authorised = self.authorisation
            request = f"PR-{self.today.year}-FURN-{agency.seq:04d}"
            self.quantities[request] = authorised
            done = api.post(
                "procurement.submit_purchase_request",
                "/purchase-requests",
                {
                    "request_id": request,
                    "agency_id": agency.agency_id,
                    "item_code": "A0603-CABINET",
                    "quantity": authorised,
                    "estimated_unit_price_cents": 150000,
                    "authorisation_id": authorisation,
                    "budget_line_id": f"BL-{self.today.year}-{agency.seq:04d}",
                },
                request,
            )
            if done is not None:
                ident = f"TD-{self.today.year}-CABINET"
                api.post(
                    "procurement.open_tender",
                    "/tenders",
                    {
                        "tender_id": ident,
                        "district": agency.district,
                        "request_ids": [request],
                        "reference_unit_price_cents": 150000,
                        "closes_at": closes,
                    },
                    ident,
                )
                bids = [
                    ("B1", "SUP-JS-0101", 142000, True),
                    ("B2", "SUP-JS-0102", 138500, True),
                    ("B3", "SUP-JS-0103", 149000, True),
                ]
                tenders.append((ident, bids, [request], "furniture"))
        for ident, bids, _, _ in tenders:
            for bid, supplier, price, _ in bids:
                api.post(
                    "procurement.submit_bid",
                    f"/tenders/{ident}/bids",
                    {"bid_id": bid, "supplier_id": supplier, "unit_price_cents": price},
                    f"{ident}.{bid}",
                )
        if tenders:
            wait = (datetime.fromisoformat(closes) - datetime.now(CST)).total_seconds() + 1
            time.sleep(max(0.0, wait))
        for ident, bids, requests, category in tenders:
            api.post("procurement.close_bidding", f"/tenders/{ident}/close", {}, ident)
            for bid, _, _, compliant in bids:
                body: dict[str, Any] = {"compliant": compliant}
                if not compliant:
                    body["reasons"] = ["报价明显低于成本且未能提供合理说明"]
                api.post("procurement.evaluate_bid", f"/tenders/{ident}/bids/{bid}/evaluation", body, f"{ident}.{bid}")
            api.post("procurement.award_tender", f"/tenders/{ident}/award", {}, ident)
            clauses = ["low_voc", "environmental", "warranty"] if category == "furniture" else ["warranty", "recycling"]
            for n, request in enumerate(requests[:6] if category != "furniture" else requests):
                contract = f"{ident}.{request}"
                signed = api.post(
                    "procurement.sign_contract",
                    "/contracts",
                    {
                        "tender_id": ident,
                        "request_id": request,
                        "clauses": clauses,
                        "delivery_due": (self.today + timedelta(days=20)).isoformat(),
                    },
                    contract,
                )
                if signed is None or n % 2:
                    continue
                quantity = self.quantities[request]
                api.post(
                    "procurement.record_delivery",
                    f"/contracts/{contract}/deliveries",
                    {"delivery_id": "D1", "quantity": quantity, "delivered_on": self.today.isoformat()},
                    contract,
                )
                api.post(
                    "procurement.inspect_delivery",
                    f"/contracts/{contract}/deliveries/D1/inspection",
                    {"accepted_quantity": quantity, "defective_quantity": 0, "inspected_on": self.today.isoformat()},
                    contract,
                )
                self.counts["deliveries_accepted"] += 1
            self.counts["tenders"] += 1

    def _price_watch(self) -> None:
        api = self.api
        for code, _, reference, drift in WATCHED:
            api.post(
                "procurement.start_price_watch",
                "/price-watches",
                {"item_code": code, "reference_price_cents": reference},
                code,
            )
            for back in range(27, -1, -1):
                day = self.today - timedelta(days=back)
                jump = drift if back < 7 else 0.0
                price = round(reference * (1 + jump + 0.04 * (_u(_h(code), day.toordinal()) - 0.5)))
                api.post(
                    "procurement.record_price_observation",
                    f"/price-watches/{code}/observations",
                    {"observed_on": day.isoformat(), "price_cents": price, "market": "常州凌家塘农副产品批发市场"},
                    f"{code}.{day:%Y%m%d}",
                )
        self.counts["price_watches"] = len(WATCHED)

    def wait_for_district_messages(self) -> None:
        """Wait until the gateway has handled (or refused) every district message this run sent."""
        sent = self.topics.sent if self.topics else 0
        if self.topics is not None:
            self.topics.close()
        self.counts["district_messages"] = sent
        if not sent:
            return
        phase = Phase("district messages", sent)
        base_handled, base_refused = self.inbound_start
        deadline = time.monotonic() + self.o.timeout
        done = 0
        refused: Counter[str] = Counter()
        while time.monotonic() < deadline:
            handled, refused_now = inbound_counts(self.api.metrics())
            refused = refused_now - base_refused
            now_done = max(0, handled - base_handled) + sum(refused.values())
            if now_done > done:
                phase.advance(now_done - done)
                done = now_done
            if done >= sent:
                break
            time.sleep(2.0)
        else:
            self.warnings.append(f"the gateway handled {done} of {sent} district messages within --timeout")
        self.district_refusals = refused
        self.phases.append(phase.finish())

    def run_checks(self) -> None:
        """What the platform's timers would do in the next hours, now: trips without GPS, repair outliers of the
        last months, energy anomalies of the last days, quota assessments; and the stock-takes are closed."""
        api = self.api
        phase = Phase("checks", None)
        api.phase = phase
        try:
            api.post("vehicles.check_trips_without_gps", "/vehicle-checks/trips-without-gps", {}, f"gps.{self.today}")
            for back in (1, 2):
                first = self.today.replace(day=1)
                for _ in range(back):
                    first = (first - timedelta(days=1)).replace(day=1)
                period = f"{first:%Y-%m}"
                api.post(
                    "vehicles.check_repair_outliers",
                    "/vehicle-checks/repair-outliers",
                    {"period": period},
                    f"repairs.{period}",
                )
            for back in range(min(self.o.days, 3), -1, -1):
                day = self.today - timedelta(days=back)
                api.post(
                    "energy.detect_anomalies",
                    "/energy/anomaly-detections",
                    {"day": day.isoformat()},
                    f"anomalies.{day}.{self.now:%H}",
                )
            for ident in self.quota_agencies:
                api.post(
                    "energy.assess_quota",
                    f"/energy/quotas/{ident}/{self.today.year}/assessment",
                    {"as_of": self.today.isoformat()},
                    f"{ident}.{self.today}",
                )
            for ident in getattr(self, "stocktakes", []):
                api.post("assets.close_stocktake", f"/stocktakes/{ident}/close", {}, ident)
        finally:
            api.phase = None
            self.phases.append(phase.finish())

    def wait_for_data_center(self) -> dict[str, Any] | None:
        """Wait until every projection has applied every event (positions still, no lag) and the city's
        figures show what was loaded; the city's figures (None when the endpoint does not answer)."""
        phase = Phase("data center", None)
        deadline = time.monotonic() + self.o.timeout
        previous: dict[str, Any] | None = None
        still = 0
        city: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            status = self.api.get("/projections") or {}
            projectors = status.get("projectors", [])
            positions = {p.get("projector"): p.get("positions") for p in projectors}
            lag = sum(int(v or 0) for p in projectors for v in (p.get("lag_events") or {}).values())
            phase.advance(0)
            still = still + 1 if positions == previous and lag == 0 else 0
            previous = positions
            if still >= 2:
                city = self.api.get("/datacenter/city")
                figures = (city or {}).get("city") or {}
                if not city or figures.get("agencies", 0) >= len(self.agencies):
                    break
            time.sleep(2.0)
        else:
            self.warnings.append("the data center had not caught up within --timeout")
            city = self.api.get("/datacenter/city")
        self.phases.append(phase.finish())
        return city

    def summary(self, city: dict[str, Any] | None, elapsed: float) -> dict[str, Any]:
        """What was loaded, what the platform refused, what the data center shows."""
        figures = (city or {}).get("city") or {}
        shown = {k: figures.get(k) for k in DATA_CENTER_KEYS if k in figures}
        result = {
            "seed": self.o.seed,
            "scale": self.o.scale,
            "days": self.o.days,
            "elapsed_s": round(elapsed, 1),
            "loaded": dict(sorted(self.counts.items())),
            "commands": dict(self.api.outcomes),
            "refused": {f"{name}: {code}": n for (name, code), n in sorted(self.api.refusals.items())},
            "district_messages_refused": dict(getattr(self, "district_refusals", {})),
            "examples": self.api.examples,
            "warnings": self.warnings,
            "data_center": shown,
            "data_center_available": city is not None,
            "phases": self.phases,
            "dashboard": self.o.gateway.rstrip("/") + "/",
        }
        return result


HISTORY_BIDS = [
    ("H1", "SUP-JS-0011", 23600, True),
    ("H2", "SUP-JS-0012", 23900, True),
    ("H3", "SUP-JS-0013", 23300, True),
    ("H4", "SUP-JS-0014", 15200, False),
]
"""Last year's copy-paper bids (unit price in cents, compliant): H4 far below the others, flagged when bidding
closed and judged non-compliant; H3 wins."""


def history_files(agencies: list[Agency], year: int, seed: int, scale: float) -> dict[str, list[dict[str, Any]]]:
    """The city's procurement of ``year`` as importer files (file name → facts, docs/import.md): a budget line
    granted on 20 December of the year before to every other city agency, a copy-paper request of each on
    10 March, one batch tender (opened 15 March, closed 2 April, awarded 10 April), a contract per request
    signed 15 April, delivered on time on 12 May and accepted on 14 May. Every value is a function of the
    agencies and ``year``, and the files are named for the seed and scale, so a re-run sends the same rows
    under the same Idempotency-Keys."""
    city = [a for a in agencies if a.district == CITY_CODE]
    chosen = [a for a in city if a.seq % 2 == 1] or city
    if not chosen:
        return {}
    stem = f"demo{seed}s{scale:g}-{year}"
    lines: list[dict[str, Any]] = []
    for a in chosen:
        line = f"BL-{year}-{a.seq:04d}"
        lines.append(
            {"fact": "open_budget_line", "at": f"{year - 1}-12-20", "budget_line_id": line}
            | {"agency_id": a.agency_id, "year:int": year, "purpose": "办公用品购置"}
            | {"amount_cents:int": 1_000_000 + (a.seq % 7) * 100_000, "opened_on": f"{year - 1}-12-20"}
        )
        lines.append(
            {"fact": "submit_purchase_request", "at": f"{year}-03-10", "budget_line_id": line}
            | {"agency_id": a.agency_id, "request_id": f"PR-{year}-H{a.seq:04d}", "item_code": "A0501-A4PAPER"}
            | {"quantity:int": 10 + (a.seq % 5) * 2, "estimated_unit_price_cents:int": 24500}
            | {"submitted_on": f"{year}-03-10"}
        )
    tender = f"TD-{year}-PAPER"
    requests = [f"PR-{year}-H{a.seq:04d}" for a in chosen][:200]
    opened, closed, awarded = (
        f"{year}-03-15T09:00:00+08:00",
        f"{year}-04-02T10:00:00+08:00",
        f"{year}-04-10T10:00:00+08:00",
    )
    tendering: list[dict[str, Any]] = [
        {"fact": "open_tender", "at": opened, "tender_id": tender, "district": CITY_CODE, "request_ids": requests}
        | {"reference_unit_price_cents": 24500, "opened_at": opened, "closes_at": f"{year}-04-01T17:00:00+08:00"}
    ]
    for n, (bid, supplier, price, _) in enumerate(HISTORY_BIDS):
        at = f"{year}-03-{20 + n}T10:00:00+08:00"
        tendering.append(
            {"fact": "submit_bid", "at": at, "tender_id": tender, "bid_id": bid, "supplier_id": supplier}
            | {"unit_price_cents": price, "submitted_at": at}
        )
    tendering.append({"fact": "close_bidding", "at": closed, "tender_id": tender, "closed_at": closed})
    for n, (bid, _, _, compliant) in enumerate(HISTORY_BIDS):
        verdict = {"compliant": compliant} | ({} if compliant else {"reasons": ["报价明显低于成本且未能提供合理说明"]})
        tendering.append(
            {"fact": "evaluate_bid", "at": f"{year}-04-0{3 + n}", "tender_id": tender, "bid_id": bid} | verdict
        )
    tendering.append({"fact": "award_tender", "at": awarded, "tender_id": tender, "awarded_at": awarded})
    contracts: list[dict[str, Any]] = []
    for a, request in zip(chosen, requests, strict=False):
        contract, quantity = f"{tender}.{request}", 10 + (a.seq % 5) * 2
        contracts += [
            {"fact": "sign_contract", "at": f"{year}-04-15", "tender_id": tender, "request_id": request}
            | {"clauses": ["warranty", "recycling"], "delivery_due": f"{year}-05-15", "signed_on": f"{year}-04-15"},
            {"fact": "record_delivery", "at": f"{year}-05-12", "contract_id": contract, "delivery_id": "D1"}
            | {"quantity": quantity, "delivered_on": f"{year}-05-12"},
            {"fact": "inspect_delivery", "at": f"{year}-05-14", "contract_id": contract, "delivery_id": "D1"}
            | {"accepted_quantity": quantity, "defective_quantity": 0, "inspected_on": f"{year}-05-14"},
        ]
    return {
        f"{stem}-budget.csv": lines,
        f"{stem}-tender.jsonl": tendering,
        f"{stem}-contracts.jsonl": contracts,
    }


def _past_vehicle(v: Vehicle, this_year: date) -> bool:
    """A vehicle acquired before this year: part of the city's past, which the importer brings in."""
    return v.acquired_on < this_year


def _fleet_of(a: Agency) -> list[Vehicle]:
    """An agency's vehicles and the old ones they replace."""
    return [old for v in a.vehicles if (old := v.replaces) is not None] + list(a.vehicles)


def _odometer_of_old(old: Vehicle) -> float:
    """An old vehicle's odometer when it was registered: 90 000 to 120 000 km."""
    return round(90000 + 30000 * _u(_h(old.vehicle_id), 1), 1)


def _vehicle_body(v: Vehicle, odometer: float) -> dict[str, Any]:
    """``register_vehicle``'s body, the same through the API and the importer."""
    body: dict[str, Any] = {
        "vehicle_id": v.vehicle_id,
        "plate": v.plate,
        "agency_id": v.agency.agency_id,
        "energy_type": v.model.energy_type,
        "use_category": v.use_category,
        "model": v.model.name,
        "acquisition_kind": v.acquisition_kind,
        "acquired_on": v.acquired_on.isoformat(),
        "norm_per_100km": v.model.norm,
        "odometer_km": odometer,
    }
    if v.model.tank:
        body["tank_capacity"] = v.model.tank
    if v.model.battery:
        body["battery_capacity_kwh"] = v.model.battery
    if v.replaces is not None:
        body["replaces_vehicle_id"] = v.replaces.vehicle_id
    return body


def _quota_body(a: Agency) -> dict[str, Any]:
    return {"quota": a.vehicle_quota, "reason": "按《常州市党政机关公务用车管理办法》核定编制"}


def _disposal_body(old: Vehicle, today: date) -> dict[str, Any]:
    """``dispose_vehicle``'s body for an old vehicle replaced (auctioned), the same through the API and the
    importer."""
    return {
        "method": "auction",
        "proceeds_fen": fen_from_yuan(round(8000 + 12000 * _u(_h(old.vehicle_id), 2), 2)),
        "disposed_on": (old.disposed_on or today).isoformat(),
        "reference": f"常公资拍〔{today.year}〕{old.seq or _h(old.vehicle_id) % 900 + 100}号",
    }


def fleet_files(
    agencies: list[Agency], odometers: dict[str, float], today: date, seed: int, scale: float
) -> dict[str, list[dict[str, Any]]]:
    """The fleet's past as an importer file: for each agency with vehicles acquired before this year, its quota
    (on the day of its first such vehicle: the quota has no day of its own and comes before the vehicles it
    counts), then its old vehicles (registered on the day acquired, disposed on their day when it is before this
    year) and the vehicles acquired before this year (``odometers`` by vehicle id: their odometer when
    registered). Rows keep their order and keys on every run of the same seed, scale and year."""
    this_year = date(today.year, 1, 1)
    facts: list[dict[str, Any]] = []
    for a in agencies:
        pasts = [v for v in _fleet_of(a) if _past_vehicle(v, this_year)]
        if not a.vehicle_quota or not pasts:
            continue
        first = min(v.acquired_on for v in pasts).isoformat()
        facts.append({"fact": "set_vehicle_quota", "at": first, "agency_id": a.agency_id} | _quota_body(a))
        for v in pasts:
            odometer = odometers[v.vehicle_id] if v.vehicle_id in odometers else _odometer_of_old(v)
            facts.append({"fact": "register_vehicle", "at": v.acquired_on.isoformat()} | _vehicle_body(v, odometer))
            if v.disposed_on is not None and v.disposed_on < this_year:
                facts.append(
                    {"fact": "dispose_vehicle", "at": v.disposed_on.isoformat(), "vehicle_id": v.vehicle_id}
                    | _disposal_body(v, today)
                )
    return {f"demo{seed}s{scale:g}-before{today.year}-fleet.jsonl": facts} if facts else {}


def _asset_body(a: Agency, x: Asset) -> dict[str, Any]:
    """``register_asset``'s body, the same through the API and the importer."""
    return {
        "asset_id": x.asset_id,
        "agency_id": a.agency_id,
        "category": x.category,
        "name": x.name,
        "location": x.location,
        "original_value_cents": x.value_cents,
        "acquired_on": x.acquired_on.isoformat(),
        "condition": "good",
    }


def ledger_files(agencies: list[Agency], today: date, seed: int, scale: float) -> dict[str, list[dict[str, Any]]]:
    """The asset ledgers' past as an importer file: every asset acquired before this year, registered on the
    day it was acquired."""
    this_year = date(today.year, 1, 1)
    facts = [
        {"fact": "register_asset", "at": x.acquired_on.isoformat()} | _asset_body(a, x)
        for a in agencies
        for x in a.assets
        if x.acquired_on < this_year
    ]
    return {f"demo{seed}s{scale:g}-before{today.year}-assets.jsonl": facts} if facts else {}


def write_history(folder: Path, files: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Write each file of ``history_files`` as the importer reads it: a CSV file with a header of every column
    (typed columns named ``name:type``, empty cells for facts without them), or one JSON object a line."""
    paths = []
    for name, facts in files.items():
        path = folder / name
        if name.endswith(".csv"):
            columns = list(dict.fromkeys(column for fact in facts for column in fact))
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.DictWriter(out, columns, restval="")
                writer.writeheader()
                writer.writerows(facts)
        else:
            path.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in facts), encoding="utf-8")
        paths.append(path)
    return paths


def _readings_id(seed: int, district: str, chunk: int, day: date, last: int) -> str:
    """A batch's message id: a whole day is named by the day, a day in progress by its last slot too, so a
    re-run sends a finished day under the name it had and a grown one under a new name."""
    tail = "" if last == 287 else f"-{(last + 1) * 5 // 60:02d}{(last + 1) * 5 % 60:02d}"
    return f"demo{seed}-rd-{district}-{chunk:03d}-{day:%Y%m%d}{tail}"


def _agency_body(a: Agency) -> dict[str, Any]:
    return {
        "agency_id": a.agency_id,
        "name": a.name,
        "district": a.district,
        "kind": a.kind,
        "admin_level": a.level,
        "authorised_headcount": a.headcount,
    }


CATALOG = [
    ("A0501-A4PAPER", "A4复印纸（70g，500张/包，5包/箱）", "office_supplies", "box"),
    ("A0502-TONER", "激光打印机硒鼓", "office_supplies", "pcs"),
    ("A0503-PEN", "中性签字笔（12支/盒）", "office_supplies", "box"),
    ("A0603-CABINET", "钢制文件柜", "furniture", "pcs"),
    ("A0601-DESK", "办公桌椅（套）", "furniture", "set"),
    ("A020101-PC", "台式计算机", "equipment", "set"),
    ("A02010601-PRINTER", "激光打印机", "equipment", "set"),
    ("C0801-PRINTING", "宣传册印刷", "printing", "copy"),
    ("C1201-VEHREPAIR", "公务用车定点维修", "vehicle_repair", "item"),
    ("C0701-PROPERTY", "机关物业服务", "property_services", "month"),
    ("F0101-PORK", "猪肉（后腿）", "canteen_ingredients", "kg"),
    ("F0102-EGG", "鲜鸡蛋", "canteen_ingredients", "kg"),
    ("F0103-RICE", "粳米", "canteen_ingredients", "kg"),
    ("F0104-GREENS", "青菜", "canteen_ingredients", "kg"),
]
"""Catalog items: code, name, category, unit."""

WATCHED = [
    ("F0101-PORK", "猪肉（后腿）", 2600, 0.22),
    ("F0102-EGG", "鲜鸡蛋", 1100, 0.0),
    ("F0103-RICE", "粳米", 560, 0.0),
    ("F0104-GREENS", "青菜", 480, -0.08),
]
"""Price-watched ingredients: code, name, reference price (cents per kg), the last week's move (pork jumps)."""

DATA_CENTER_KEYS = (
    "agencies",
    "staff_on_post",
    "floor_area_m2",
    "office_area_m2",
    "over_standard_persons",
    "vehicles_in_service",
    "vehicle_cost_fen",
    "vehicle_km",
    "new_energy_share",
    "assets_count",
    "idle_assets",
    "budget_fen",
    "spent_fen",
    "electricity_kwh",
    "water_m3",
    "energy_tce",
    "carbon_t",
    "open_findings",
)


def parse(argv: list[str] | None = None) -> Options:
    """The command line, with the platform's settings as defaults."""
    config = settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the issue's sizes (0.05: a quick demo)")
    parser.add_argument("--days", type=int, default=30, help="days of 5-minute meter readings (default 30)")
    parser.add_argument("--seed", type=int, default=2026, help="the city's random seed (same seed, same city)")
    parser.add_argument(
        "--gateway", default=f"http://{config.http_host}:{config.port('gateway')}", help="the gateway's base URL"
    )
    parser.add_argument("--bootstrap", default=config.kafka_bootstrap, help="Kafka bootstrap servers")
    parser.add_argument("--token", help="bearer token (default: var/admin.token)")
    parser.add_argument("--workers", type=int, default=12, help="concurrent HTTP commands")
    parser.add_argument("--trips-per-month", type=float, default=1.0, help="dispatched trips per vehicle and month")
    parser.add_argument(
        "--readings-via",
        choices=("topics", "http"),
        default="topics",
        help="send meter readings on the district topics (default) or to POST /api/v1/meter-readings",
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the platform to catch up")
    parser.add_argument("--summary-json", type=Path, help="also write the summary to this file")
    parser.add_argument(
        "--history-dir", type=Path, help="keep the history files the importer is fed here (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    token = args.token
    if token is None:
        path = config.var_dir / "admin.token"
        if not path.exists():
            parser.error(f"no token: {path} does not exist (start the platform with `make run`) and no --token")
        token = path.read_text().strip()
    if not 0 < args.scale <= 10 or not 0 < args.days <= 366:
        parser.error("--scale must be in (0, 10] and --days in 1..366")
    return Options(
        args.gateway,
        args.bootstrap,
        token,
        args.scale,
        args.days,
        args.seed,
        args.workers,
        args.trips_per_month,
        args.readings_via,
        args.timeout,
        args.summary_json,
        args.history_dir,
    )


def print_summary(result: dict[str, Any]) -> None:
    """The summary for people."""
    out = sys.stdout
    loaded = result["loaded"]
    out.write(f"\nloaded in {result['elapsed_s'] / 60:.1f} min (seed {result['seed']}, scale {result['scale']:g}):\n")
    for name, value in loaded.items():
        out.write(f"  {name:<22} {value:>12,}\n")
    out.write(f"commands: {result['commands']}\n")
    if result["refused"]:
        out.write("refused by the platform:\n")
        for what, n in result["refused"].items():
            out.write(f"  {what}: {n}\n")
        for example in result["examples"][:5]:
            out.write(f"    e.g. {example}\n")
    if result["district_messages_refused"]:
        out.write(f"district messages refused: {result['district_messages_refused']}\n")
    for warning in result["warnings"]:
        out.write(f"warning: {warning}\n")
    if result["data_center"]:
        out.write("the data center shows (city, this year):\n")
        for key, value in result["data_center"].items():
            out.write(f"  {key:<22} {value}\n")
    elif not result["data_center_available"]:
        out.write("the data center's city figures did not answer (GET /api/v1/datacenter/city)\n")
    out.write(f"dashboard: {result['dashboard']}  (token: var/admin.token)\n")


def main(argv: list[str] | None = None) -> int:
    """Load the city; 0 when nothing was refused."""
    options = parse(argv)
    result = Loader(options).load()
    print_summary(result)
    if options.summary_json:
        options.summary_json.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    return 0 if not result["refused"] and not result["warnings"] else 1


if __name__ == "__main__":
    sys.exit(main())
