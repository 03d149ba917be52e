"""The demo city: its districts, agencies, staff, buildings and rooms, vehicles, assets and energy meters, built
from the seed and the scale (``build_agencies``, ``build_vehicles``, ``build_assets``, ``build_meters``)."""

from __future__ import annotations

import itertools
import math
import operator
import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from infra.local.demo.draws import draw, kind_of_day, mix, stable_hash
from services.common.kernel import uscc
from services.common.kernel.districts import CITY_CODE

AGENCIES = 300


VEHICLES = 1000
"""The full sizes at ``--scale 1``; meters follow from the buildings (about 2,500)."""


EPOCH = date(2024, 1, 1)
"""Meter counters and vehicle odometers are computed from this day on, so every run agrees on every value."""


YEAR_DAYS = 365
"""Days of vehicle history (costs and trips) before today."""


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


def person_name(rng: random.Random) -> str:
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


def district_names(district: str, name: str) -> tuple[str, tuple[float, float], list[str], list[str]]:
    if district in DISTRICT_PLACES:
        return DISTRICT_PLACES[district]
    return name, (31.78, 119.95), ["城东", "城西", "城南", "城北", "中心"], ["人民路", "解放路", "建设路"]


def _county_catalogue(district: str, name: str, rng: random.Random) -> list[tuple[str, str]]:
    """Every county-level agency of a district, the keeper first, the rest a representative mix."""
    prefix, _, places, _ = district_names(district, name)
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
        agency.staff.append(Person(f"P{agency.seq:04d}-{n:03d}", person_name(rng), rank, posted))
    roads = district_names(agency.district, "")[3]
    district_name = district_names(agency.district, "")[0]
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
                if draw(stable_hash(vehicle.vehicle_id), seed, stable_hash(name)) < share
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
class Asset:
    """An asset of the ledger."""

    asset_id: str
    category: str
    name: str
    location: str
    value_fen: int
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


OFFICE = [0.15] * 6 + [0.25, 0.5] + [1.0] * 4 + [0.8] + [1.0] * 5 + [0.6, 0.35, 0.35, 0.35, 0.15, 0.15]


HOSPITAL = [0.4] * 6 + [0.5, 0.7] + [1.0] * 10 + [0.7] * 4 + [0.45, 0.45]


CANTEEN = [0.02] * 6 + [0.3, 0.6, 0.4, 0.6, 1.0, 1.0, 0.5, 0.2, 0.2, 0.4, 0.9, 1.0, 0.4] + [0.05] * 5


PROFILES = {"office": OFFICE, "hospital": HOSPITAL, "canteen": CANTEEN}


OFF_DAY_SHARE = {"office": 0.25, "hospital": 0.4, "canteen": 0.1}
"""A weekend or holiday's use against a working day's (offices idle, hospitals' wards only, canteens closed).
The energy service's detector flags a day off above 40 % of the working hours' load (``weekend_share``)."""


_NOISE = [[0.85 + 0.3 * draw(p, s) for s in range(288)] for p in range(64)]
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
        share = 1.0 if kind_of_day(day) == "workday" else OFF_DAY_SHARE[self.profile]
        return self.daily * share * (0.9 + 0.2 * draw(self.salt, day.toordinal()))

    def counter_at_day_start(self, day: date) -> float:
        """Use from ``EPOCH`` to ``day`` plus the counter at ``EPOCH`` (in the kind's unit, before the
        multiplier); computed forward once, in the same order on every run."""
        if not self._prefix:
            self._prefix[EPOCH] = 1000.0 + 50000.0 * draw(self.salt, 1)
        last = max(self._prefix)
        while last < day:
            self._prefix[last + timedelta(days=1)] = self._prefix[last] + self.day_total(last)
            last += timedelta(days=1)
        return self._prefix[day]

    def weights(self, day: date) -> list[float]:
        """The 288 five-minute shares of the day's use (with this meter's anomaly, if any, on its days)."""
        o = day.toordinal()
        workday = kind_of_day(day) == "workday"
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
        noisy = list(map(operator.mul, slots, _NOISE[mix(self.salt, o) % 64]))
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
                    salt=stable_hash(f"{seed}:{prefix}-{suffix}"),
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
