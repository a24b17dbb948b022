"""The record kinds of an import bundle: one registered piece per file.

Each ``RecordKind`` names its file, its ``FileSpec`` (columns, types, Chinese aliases), the
model it loads into and how its rows find their community. ``KINDS`` lists them in load order
(parents first); the bundle importer walks this list, so adding a kind is adding one entry.
``communities.geojson`` is special (a GeoJSON file) and handled in ``fangcang.importer.geojson``
with ``COMMUNITY_SPEC`` for its properties.

Size: 553 lines because it is a registry: nine ``RecordKind`` declarations and ``COMMUNITY_SPEC`` (columns, types, Chinese
aliases) of ~40 lines each, plus the shared fields they use; it holds data, not logic.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import (
    DivisionKind,
    Event,
    EventKind,
    EventStatus,
    Gender,
    House,
    HouseUse,
    Incident,
    IncidentCategory,
    KeyPersonType,
    ObjectKind,
    ObjectRecord,
    Officer,
    Person,
    Place,
    PlaceKind,
    PlaceSubtype,
    ResidenceType,
    RiskLevel,
    Station,
    SubDistrict,
)
from .spec import (
    BOOL,
    DATE,
    DATETIME,
    ENUM,
    FLOAT,
    ID_NUMBER,
    INT,
    LAT,
    LON,
    PHONE,
    Field,
    FileSpec,
)

# Columns shared by many files.
SOURCE = Field(
    "source",
    aliases=("数据来源", "来源部门", "来源单位", "来源"),
    default="",
    max_length=64,
    description="department that exported the record",
)
UPDATED_AT = Field(
    "updated_at",
    DATETIME,
    aliases=("更新时间", "数据更新时间", "最后更新时间"),
    description="when the department last changed the record (default: the file's modification time)",
)
COMMUNITY = Field(
    "community_id",
    aliases=("社区编号", "社区代码", "所属社区编号", "社区ID"),
    max_length=32,
    code=True,
    description="community id; when empty the point (lon, lat) places the record",
)
COMMUNITY_REQUIRED = Field(
    "community_id",
    required=True,
    aliases=COMMUNITY.aliases,
    max_length=32,
    code=True,
    description="community id",
)
LON_F = Field(
    "lon",
    LON,
    aliases=("经度", "longitude", "x"),
    description="longitude (WGS84 unless coord_system says otherwise)",
)
LAT_F = Field(
    "lat",
    LAT,
    aliases=("纬度", "latitude", "y"),
    description="latitude (WGS84 unless coord_system says otherwise)",
)
COORD_SYSTEM = Field(
    "coord_system",
    ENUM,
    choices={
        "wgs84": "wgs84",
        "cgcs2000": "wgs84",
        "gps": "wgs84",
        "gcj02": "gcj02",
        "gcj-02": "gcj02",
        "高德": "gcj02",
        "腾讯": "gcj02",
        "火星坐标": "gcj02",
        "bd09": "bd09",
        "bd-09": "bd09",
        "百度": "bd09",
    },
    aliases=("坐标系", "坐标系统"),
    description="the row's coordinate system, converted to WGS84 on import (default: the "
    "file's or bundle's option, else wgs84; see Coordinate systems)",
)
#: Phone columns: one rule for people, officers and visits (fangcang.phone).
PHONE_ALIASES = (
    "联系电话",
    "手机号",
    "手机号码",
    "电话",
    "电话号码",
    "手机",
    "联系方式",
    "移动电话",
)


@dataclass(frozen=True)
class RecordKind:
    """One file of a bundle.

    Attributes
    ----------
    name : str
        File stem and record-kind key (``record_kind.<name>`` is its label).
    spec : FileSpec
    model : type
        The table the rows are loaded into (columns named like the spec's fields).
    locate : bool
        Rows carry ``community_id`` and/or ``lon``/``lat``: an empty community is found by
        point-in-polygon; a point outside every community is a rejected row.
    community : bool
        Rows reference a community (its id must exist in the bundle or the database).
    basic : bool
        One of the basic-record kinds counted in ``agg_records`` and the headline totals.
    """

    name: str
    spec: FileSpec
    model: type
    locate: bool = False
    community: bool = True
    basic: bool = True

    @property
    def key(self) -> str:
        return self.spec.key


SUB_DISTRICTS = RecordKind(
    "sub_districts",
    FileSpec(
        "sub_districts",
        key="code",
        description="Sub-districts (街道) and towns (镇). Optional: communities.geojson may name "
        "its streets by code or name from data/lucheng_divisions.csv or the database instead.",
        fields=(
            Field(
                "code",
                required=True,
                aliases=("街道编号", "区划代码", "编号"),
                max_length=32,
                code=True,
            ),
            Field("name", required=True, aliases=("街道名称", "名称"), max_length=64),
            Field(
                "kind",
                ENUM,
                choices={"street": "street", "街道": "street", "town": "town", "镇": "town"},
                aliases=("类型",),
                description="street or town (default: town when the name ends in 镇)",
            ),
            Field("label_lon", LON, aliases=("经度",)),
            Field("label_lat", LAT, aliases=("纬度",)),
        ),
    ),
    SubDistrict,
    community=False,
    basic=False,
)

STATIONS = RecordKind(
    "stations",
    FileSpec(
        "stations",
        key="station_id",
        description="Police stations (派出所). Optional: stations named in officers.csv or "
        "communities.geojson that are not listed anywhere are created from the name.",
        fields=(
            Field(
                "station_id",
                required=True,
                aliases=("派出所编号", "编号"),
                max_length=32,
                code=True,
            ),
            Field("name", required=True, aliases=("派出所名称", "派出所", "名称"), max_length=64),
            Field("lon", LON, aliases=("经度",)),
            Field("lat", LAT, aliases=("纬度",)),
        ),
    ),
    Station,
    community=False,
    basic=False,
)

OFFICERS = RecordKind(
    "officers",
    FileSpec(
        "officers",
        key="officer_id",
        description="Police officers; community officers are named by communities.geojson.",
        fields=(
            Field(
                "officer_id", required=True, aliases=("民警编号", "警号"), max_length=32, code=True
            ),
            Field("name", required=True, aliases=("姓名", "民警姓名"), max_length=64),
            Field(
                "station",
                required=True,
                aliases=("station_id", "派出所", "所属派出所", "派出所编号"),
                max_length=64,
                description="station id or name (see the station rule)",
            ),
            Field("phone", PHONE, aliases=PHONE_ALIASES, description="officer's phone"),
            SOURCE,
            UPDATED_AT,
        ),
    ),
    Officer,
    community=False,
    basic=False,
)

#: Properties of each feature of communities.geojson.
COMMUNITY_SPEC = FileSpec(
    "communities",
    key="community_id",
    description="Community polygons (GeoJSON FeatureCollection, WGS84) with their "
    "sub-district, station and community officer.",
    fields=(
        Field(
            "community_id",
            required=True,
            aliases=("社区编号", "社区代码"),
            max_length=32,
            code=True,
        ),
        Field("name", required=True, aliases=("社区名称", "名称"), max_length=64),
        Field(
            "street",
            required=True,
            aliases=(
                "sub_district",
                "sub_district_code",
                "街道",
                "所属街道",
                "街道编号",
                "乡镇街道",
            ),
            max_length=64,
            description="sub-district code or name (see the sub-district rule)",
        ),
        Field(
            "station",
            required=True,
            aliases=("station_id", "派出所", "所属派出所", "派出所编号"),
            max_length=64,
            description="station id or name (see the station rule)",
        ),
        Field(
            "officer_id",
            aliases=("社区民警编号", "民警编号", "社区民警"),
            max_length=32,
            description="the community officer (must be in officers.csv or the database)",
        ),
        SOURCE,
        UPDATED_AT,
    ),
)

HOUSES = RecordKind(
    "houses",
    FileSpec(
        "houses",
        key="house_id",
        description="Houses (房): address, use and checks.",
        fields=(
            Field("house_id", required=True, aliases=("房屋编号",), max_length=40, code=True),
            Field(
                "address",
                required=True,
                aliases=("地址", "房屋地址"),
                max_length=200,
                personal=True,
            ),
            COMMUNITY,
            LON_F,
            LAT_F,
            COORD_SYSTEM,
            Field(
                "use",
                ENUM,
                required=True,
                choices=HouseUse,
                aliases=("房屋用途", "用途", "房屋类型"),
            ),
            Field(
                "registered_residents",
                INT,
                default=0,
                min=0,
                aliases=("登记人数", "居住人数"),
            ),
            Field("last_checked", DATE, aliases=("最近检查日期", "末次检查日期", "检查日期")),
            Field(
                "check_interval_days",
                INT,
                min=1,
                aliases=("检查周期", "检查周期(天)", "检查间隔(天)"),
            ),
            SOURCE,
            UPDATED_AT,
        ),
    ),
    House,
    locate=True,
)

PEOPLE = RecordKind(
    "people",
    FileSpec(
        "people",
        key="person_id",
        description="People (人). ID numbers must carry a correct check digit.",
        fields=(
            Field("person_id", required=True, aliases=("人员编号",), max_length=40, code=True),
            Field("name", required=True, aliases=("姓名",), max_length=64, personal=True),
            Field(
                "id_number",
                ID_NUMBER,
                aliases=("身份证号", "身份证号码", "公民身份号码", "证件号码"),
                personal=True,
            ),
            Field("phone", PHONE, aliases=PHONE_ALIASES, personal=True),
            Field("gender", ENUM, choices=Gender, default="unknown", aliases=("性别",)),
            Field("birth_date", DATE, aliases=("出生日期",)),
            Field(
                "residence_type",
                ENUM,
                required=True,
                choices=ResidenceType,
                aliases=("人口类型", "居住类型", "人员类型"),
            ),
            COMMUNITY_REQUIRED,
            Field("house_id", aliases=("房屋编号",), max_length=40, code=True),
            Field(
                "key_person_type",
                ENUM,
                choices=KeyPersonType,
                aliases=("重点人员类型", "重点人员类别"),
            ),
            Field("last_visit", DATE, aliases=("最近走访日期", "末次走访日期", "走访日期")),
            Field(
                "visit_interval_days",
                INT,
                min=1,
                aliases=("走访周期", "走访周期(天)", "走访间隔(天)"),
            ),
            SOURCE,
            UPDATED_AT,
        ),
    ),
    Person,
)

PLACES = RecordKind(
    "places",
    FileSpec(
        "places",
        key="place_id",
        description="Enterprises, venues and regulated trades (企业、场所、特种行业).",
        fields=(
            Field(
                "place_id",
                required=True,
                aliases=("单位编号", "场所编号"),
                max_length=40,
                code=True,
            ),
            Field("name", required=True, aliases=("单位名称", "场所名称", "名称"), max_length=128),
            Field("kind", ENUM, required=True, choices=PlaceKind, aliases=("单位类别", "类别")),
            Field(
                "subtype",
                ENUM,
                required=True,
                choices=PlaceSubtype,
                aliases=("行业类型", "场所类型", "子类"),
            ),
            COMMUNITY,
            LON_F,
            LAT_F,
            COORD_SYSTEM,
            Field(
                "risk_level",
                ENUM,
                choices=RiskLevel,
                default="low",
                aliases=("风险等级",),
            ),
            Field("last_inspected", DATE, aliases=("最近检查日期", "末次检查日期", "检查日期")),
            Field(
                "inspection_interval_days",
                INT,
                min=1,
                aliases=("检查周期", "检查周期(天)", "检查间隔(天)"),
            ),
            SOURCE,
            UPDATED_AT,
        ),
    ),
    Place,
    locate=True,
)

OBJECTS = RecordKind(
    "objects",
    FileSpec(
        "objects",
        key="object_id",
        description="Objects (物): vehicles, e-bikes, cameras, dangerous goods.",
        fields=(
            Field(
                "object_id", required=True, aliases=("物品编号", "编号"), max_length=40, code=True
            ),
            Field("kind", ENUM, required=True, choices=ObjectKind, aliases=("物品类别", "类别")),
            Field("description", default="", aliases=("描述", "说明"), max_length=200),
            COMMUNITY,
            LON_F,
            LAT_F,
            COORD_SYSTEM,
            Field("recorded_at", DATETIME, required=True, aliases=("登记时间",)),
            Field("status", default="active", aliases=("状态",), max_length=32),
            SOURCE,
            UPDATED_AT,
        ),
    ),
    ObjectRecord,
    locate=True,
)

EVENTS = RecordKind(
    "events",
    FileSpec(
        "events",
        key="event_id",
        description="Events (事): disputes, petitions, hazards, gatherings.",
        fields=(
            Field(
                "event_id", required=True, aliases=("事件编号", "编号"), max_length=40, code=True
            ),
            Field("kind", ENUM, required=True, choices=EventKind, aliases=("事件类别", "类别")),
            Field("occurred_at", DATETIME, required=True, aliases=("发生时间",)),
            Field("status", ENUM, required=True, choices=EventStatus, aliases=("处置状态", "状态")),
            COMMUNITY,
            LON_F,
            LAT_F,
            COORD_SYSTEM,
            Field("description", default="", aliases=("描述", "事件描述"), max_length=500),
            SOURCE,
            UPDATED_AT,
        ),
    ),
    Event,
    locate=True,
)

INCIDENTS = RecordKind(
    "incidents",
    FileSpec(
        "incidents",
        key="incident_id",
        description="Incidents (警情). Reserved subtypes are stored in English; other subtype "
        "text is kept as written.",
        fields=(
            Field(
                "incident_id",
                required=True,
                aliases=("警情编号", "接警编号"),
                max_length=40,
                code=True,
            ),
            Field("occurred_at", DATETIME, required=True, aliases=("发生时间", "报警时间")),
            Field(
                "category",
                ENUM,
                required=True,
                choices=IncidentCategory,
                aliases=("警情类别", "警情类型"),
            ),
            Field("subtype", default="", aliases=("警情细类", "警情子类", "细类"), max_length=32),
            LON_F,
            LAT_F,
            COORD_SYSTEM,
            COMMUNITY,
            Field("loss_yuan", FLOAT, default=0.0, min=0, aliases=("损失金额", "损失(元)")),
            Field("alcohol_related", BOOL, default=False, aliases=("是否涉酒", "涉酒")),
            SOURCE,
            UPDATED_AT,
        ),
    ),
    Incident,
    locate=True,
)

#: Every CSV/XLSX kind of a bundle, in load order (parents first). communities.geojson is
#: loaded after officers and before houses.
KINDS: list[RecordKind] = [
    SUB_DISTRICTS,
    STATIONS,
    OFFICERS,
    HOUSES,
    PEOPLE,
    PLACES,
    OBJECTS,
    EVENTS,
    INCIDENTS,
]

#: The basic-record kinds (counted in agg_records and the headline totals).
BASIC_KINDS: list[RecordKind] = [k for k in KINDS if k.basic]

#: Kinds whose rows are a division of the district (sub-districts) or its stations.
DIVISION_KINDS = {DivisionKind.STREET.value, DivisionKind.TOWN.value}


def kind(name: str) -> RecordKind:
    """The registered kind called ``name`` (``people``, ``incidents`` ...)."""
    for k in KINDS:
        if k.name == name:
            return k
    raise ValueError(f"unknown record kind {name!r} (known: {', '.join(k.name for k in KINDS)})")
