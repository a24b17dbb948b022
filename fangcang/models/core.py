"""Core records: geography, officers, the eight kinds of basic information, incidents,
the pre-aggregated tables that dashboards read, the import log and the audit chain.

Conventions
-----------
- Ids are the departments' own string ids (``community_id``, ``person_id`` ...).
- Times are naive Asia/Shanghai local times (see ``fangcang.timeutil``).
- Geometry is GeoJSON text (WGS84 / CGCS2000 lon/lat), so the same schema works on SQLite and on
  PostgreSQL without PostGIS; ``fangcang.geo`` loads it into geopandas.
- Enums are stored as their English value strings (VARCHAR, no native enum type).
- Every basic record keeps ``source`` (the department that exported it) and ``updated_at``.

Size: 512 lines because it is declarations only: the core tables and their enums, which the
migrations and ``tests/test_models.py`` check together.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_type


# ---------------------------------------------------------------------------------------------
# Enums (values are the stored strings; Chinese labels live in fangcang.i18n)
# ---------------------------------------------------------------------------------------------
class DivisionKind(enum.StrEnum):
    STREET = "street"  # 街道
    TOWN = "town"  # 镇


class Gender(enum.StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


class ResidenceType(enum.StrEnum):
    REGISTERED = "registered"  # 户籍
    FLOATING = "floating"  # 流动
    OVERSEAS = "overseas"  # 境外


class KeyPersonType(enum.StrEnum):
    DRUGS = "drugs"  # 涉毒
    MENTAL = "mental"  # 肇事肇祸精神病
    PETITION = "petition"  # 信访
    RELEASED = "released"  # 刑满释放
    ALCOHOL = "alcohol"  # 酗酒
    OTHER = "other"


class HouseUse(enum.StrEnum):
    SELF_OCCUPIED = "self_occupied"  # 自住
    RENTAL = "rental"  # 出租
    GROUP_RENTAL = "group_rental"  # 群租
    VACANT = "vacant"  # 空置
    COMMERCIAL = "commercial"  # 商用


class PlaceKind(enum.StrEnum):
    ENTERPRISE = "enterprise"  # 企业
    VENUE = "venue"  # 场所
    REGULATED_TRADE = "regulated_trade"  # 特种行业


class PlaceSubtype(enum.StrEnum):
    BAR = "bar"
    KTV = "ktv"
    INTERNET_CAFE = "internet_cafe"
    HOTEL = "hotel"
    PAWNSHOP = "pawnshop"
    SECOND_HAND = "second_hand"
    PRINTING = "printing"
    CAR_REPAIR = "car_repair"
    DANGEROUS_GOODS = "dangerous_goods"
    FACTORY = "factory"
    SHOP = "shop"
    OTHER = "other"


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ObjectKind(enum.StrEnum):
    VEHICLE = "vehicle"
    EBIKE = "ebike"
    CAMERA = "camera"
    DANGEROUS_GOODS = "dangerous_goods"


class EventKind(enum.StrEnum):
    DISPUTE = "dispute"  # 纠纷
    PETITION = "petition"  # 信访
    HAZARD = "hazard"  # 隐患
    GATHERING = "gathering"  # 聚集


class EventStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class IncidentCategory(enum.StrEnum):
    CRIMINAL = "criminal"  # 刑事
    PUBLIC_ORDER = "public_order"  # 治安
    DISPUTE = "dispute"  # 纠纷
    TRAFFIC = "traffic"  # 交通
    FIRE = "fire"  # 火灾
    ASSISTANCE = "assistance"  # 求助
    OTHER = "other"  # 其他


#: "criminal and public-order" (刑事治安) incidents.
CRIME_CATEGORIES: tuple[IncidentCategory, ...] = (
    IncidentCategory.CRIMINAL,
    IncidentCategory.PUBLIC_ORDER,
)


class IncidentSubtype(enum.StrEnum):
    """Reserved subtypes that headline figures name; other subtype strings are allowed."""

    ASSAULT = "assault"  # 殴打
    TELECOM_FRAUD = "telecom_fraud"  # 电信诈骗
    THEFT = "theft"  # 盗窃


class FactorKind(enum.StrEnum):
    """Public-order factors (治安要素): records that need police control."""

    KEY_PERSON = "key_person"
    RENTAL_HOUSE = "rental_house"
    GROUP_RENTAL_HOUSE = "group_rental_house"
    VENUE = "venue"
    REGULATED_TRADE = "regulated_trade"
    DANGEROUS_GOODS = "dangerous_goods"


class ImportStatus(enum.StrEnum):
    OK = "ok"
    PARTIAL = "partial"  # good rows imported, rejected rows written to a file
    FAILED = "failed"  # nothing changed


# ---------------------------------------------------------------------------------------------
# Geography and officers
# ---------------------------------------------------------------------------------------------
class _Provenance:
    source: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


class SubDistrict(Base):
    """A sub-district (街道) or town (镇) of the district."""

    __tablename__ = "sub_districts"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[DivisionKind] = mapped_column(enum_type(DivisionKind), nullable=False)
    label_lon: Mapped[float | None] = mapped_column(Float)
    label_lat: Mapped[float | None] = mapped_column(Float)
    geometry: Mapped[str | None] = mapped_column(Text)  # GeoJSON, the union of its communities


class Station(Base):
    """A police station (派出所)."""

    __tablename__ = "stations"

    station_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)


class Officer(_Provenance, Base):
    """A police officer; community officers (社区民警) are responsible for communities."""

    __tablename__ = "officers"

    officer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.station_id"), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(32))


class Community(_Provenance, Base):
    """A community (社区) with its polygon, station and responsible officer."""

    __tablename__ = "communities"

    community_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    sub_district_code: Mapped[str] = mapped_column(
        ForeignKey("sub_districts.code"), nullable=False, index=True
    )
    station_id: Mapped[str] = mapped_column(
        ForeignKey("stations.station_id"), nullable=False, index=True
    )
    officer_id: Mapped[str | None] = mapped_column(ForeignKey("officers.officer_id"), index=True)
    geometry: Mapped[str] = mapped_column(Text, nullable=False)  # GeoJSON Polygon/MultiPolygon
    centroid_lon: Mapped[float | None] = mapped_column(Float)
    centroid_lat: Mapped[float | None] = mapped_column(Float)


# ---------------------------------------------------------------------------------------------
# The basic records (人、地、物、事、房、企、场所、特种行业)
# ---------------------------------------------------------------------------------------------
class House(_Provenance, Base):
    __tablename__ = "houses"

    house_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    address: Mapped[str] = mapped_column(String(200), nullable=False)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.community_id"), nullable=False, index=True
    )
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    use: Mapped[HouseUse] = mapped_column(enum_type(HouseUse), nullable=False)
    registered_residents: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_checked: Mapped[date | None] = mapped_column(Date)
    check_interval_days: Mapped[int | None] = mapped_column(Integer)


class Person(_Provenance, Base):
    __tablename__ = "people"

    person_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    id_number: Mapped[str | None] = mapped_column(String(18), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    gender: Mapped[Gender] = mapped_column(enum_type(Gender), nullable=False)
    birth_date: Mapped[date | None] = mapped_column(Date)
    residence_type: Mapped[ResidenceType] = mapped_column(enum_type(ResidenceType), nullable=False)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.community_id"), nullable=False, index=True
    )
    # Not a foreign key on purpose: departments export people and houses separately and a
    # person may reference a house that arrives in a later bundle.
    house_id: Mapped[str | None] = mapped_column(String(40), index=True)
    key_person_type: Mapped[KeyPersonType | None] = mapped_column(enum_type(KeyPersonType))
    last_visit: Mapped[date | None] = mapped_column(Date)
    visit_interval_days: Mapped[int | None] = mapped_column(Integer)


class Place(_Provenance, Base):
    """Enterprises, venues and regulated trades (企业、场所、特种行业)."""

    __tablename__ = "places"

    place_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    kind: Mapped[PlaceKind] = mapped_column(enum_type(PlaceKind), nullable=False)
    subtype: Mapped[PlaceSubtype] = mapped_column(enum_type(PlaceSubtype), nullable=False)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.community_id"), nullable=False, index=True
    )
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    risk_level: Mapped[RiskLevel] = mapped_column(enum_type(RiskLevel), nullable=False)
    last_inspected: Mapped[date | None] = mapped_column(Date)
    inspection_interval_days: Mapped[int | None] = mapped_column(Integer)


class ObjectRecord(_Provenance, Base):
    """Objects (物): vehicles, e-bikes, cameras, dangerous goods."""

    __tablename__ = "objects"

    object_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[ObjectKind] = mapped_column(enum_type(ObjectKind), nullable=False)
    description: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.community_id"), nullable=False, index=True
    )
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(32), default="active", nullable=False)


class Event(_Provenance, Base):
    """Events (事): disputes, petitions, hazards, gatherings."""

    __tablename__ = "events"

    event_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    status: Mapped[EventStatus] = mapped_column(enum_type(EventStatus), nullable=False)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.community_id"), nullable=False, index=True
    )
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(String(500), default="", nullable=False)


class Incident(_Provenance, Base):
    """Incidents (警情): every 110 call that became a case record."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_community_time", "community_id", "occurred_at"),)

    incident_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    category: Mapped[IncidentCategory] = mapped_column(enum_type(IncidentCategory), nullable=False)
    subtype: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.community_id"), nullable=False
    )
    loss_yuan: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    alcohol_related: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


# ---------------------------------------------------------------------------------------------
# Pre-aggregated tables: kept in step by every change (fangcang.aggregates), read by every page.
# ---------------------------------------------------------------------------------------------
class AggIncidentDay(Base):
    """Incidents counted by community x local day x category x subtype."""

    __tablename__ = "agg_incident_day"

    community_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    category: Mapped[IncidentCategory] = mapped_column(
        enum_type(IncidentCategory), primary_key=True
    )
    subtype: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    n_alcohol: Mapped[int] = mapped_column(Integer, nullable=False)
    loss_yuan: Mapped[float] = mapped_column(Float, nullable=False)

    # Covering: range queries read the index alone (migration 0015, bench/bench_incidents.py)
    __table_args__ = (
        Index(
            "ix_agg_incident_day_cover",
            "day",
            "community_id",
            "category",
            "subtype",
            "n",
            "n_alcohol",
            "loss_yuan",
        ),
    )


class AggIncidentMonth(Base):
    """Incidents counted by community x month (first day) x category x subtype.

    The grain of the monthly pages (overview, trends, warning inputs, effect): about 20x fewer
    rows than ``agg_incident_day``.
    """

    __tablename__ = "agg_incident_month"

    community_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    category: Mapped[IncidentCategory] = mapped_column(
        enum_type(IncidentCategory), primary_key=True
    )
    subtype: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    n_alcohol: Mapped[int] = mapped_column(Integer, nullable=False)
    loss_yuan: Mapped[float] = mapped_column(Float, nullable=False)

    # Covering: range queries read the index alone (migration 0015, bench/bench_incidents.py)
    __table_args__ = (
        Index(
            "ix_agg_incident_month_cover",
            "month",
            "community_id",
            "category",
            "subtype",
            "n",
            "n_alcohol",
            "loss_yuan",
        ),
    )


class AggIncidentDistrictMonth(Base):
    """Incidents counted by month (first day) x category x subtype over the whole district.

    ``agg_incident_month`` summed over its communities: the grain of the district-wide monthly
    views (overview, trends, bulletins, effect), about 30 rows per month instead of ~2,800
    (bench/bench_incidents.py).
    """

    __tablename__ = "agg_incident_district_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    category: Mapped[IncidentCategory] = mapped_column(
        enum_type(IncidentCategory), primary_key=True
    )
    subtype: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    n_alcohol: Mapped[int] = mapped_column(Integer, nullable=False)
    loss_yuan: Mapped[float] = mapped_column(Float, nullable=False)


class _MetricCounts:
    """One column per headline metric (``fangcang.metrics.METRIC_COLUMNS``)."""

    n: Mapped[int] = mapped_column(Integer, nullable=False)  # total
    n_crime: Mapped[int] = mapped_column(Integer, nullable=False)
    n_assault: Mapped[int] = mapped_column(Integer, nullable=False)
    n_telecom_fraud: Mapped[int] = mapped_column(Integer, nullable=False)
    n_alcohol: Mapped[int] = mapped_column(Integer, nullable=False)


class AggIncidentMetricDay(_MetricCounts, Base):
    """The headline metrics by community x local day: what the per-community day windows
    (7/28 days, the ends of a date range) read, ~120 rows a day with no category to test
    (bench/bench_incidents.py)."""

    __tablename__ = "agg_incident_metric_day"

    community_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)

    __table_args__ = (
        Index(
            "ix_agg_incident_metric_day_cover",
            "day",
            "community_id",
            "n",
            "n_crime",
            "n_assault",
            "n_telecom_fraud",
            "n_alcohol",
        ),
    )


class AggIncidentMetricMonth(_MetricCounts, Base):
    """The headline metrics by community x month (first day): what the per-community monthly
    views (effect, warning inputs, the map's periods) read, ~120 rows a month."""

    __tablename__ = "agg_incident_metric_month"

    community_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)

    __table_args__ = (
        Index(
            "ix_agg_incident_metric_month_cover",
            "month",
            "community_id",
            "n",
            "n_crime",
            "n_assault",
            "n_telecom_fraud",
            "n_alcohol",
        ),
    )


class AggIncidentHour(Base):
    """Incidents counted by community x month x day-of-week (0 = Monday) x hour x category."""

    __tablename__ = "agg_incident_hour"

    community_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    dow: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[IncidentCategory] = mapped_column(
        enum_type(IncidentCategory), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, nullable=False)


class AggIncidentDistrictHour(Base):
    """Incidents counted by month x day-of-week (0 = Monday) x hour x category over the whole
    district: ``agg_incident_hour`` summed over its communities (the district's hour-of-week
    grid reads ~14,000 rows a year instead of ~170,000)."""

    __tablename__ = "agg_incident_district_hour"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    dow: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[IncidentCategory] = mapped_column(
        enum_type(IncidentCategory), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, nullable=False)


class AggFactor(Base):
    """Public-order factors counted by community x kind x last check day x interval.

    A factor is in control at day D when its last check falls in [D - interval + 1, D];
    ``checked_on`` is NULL for factors never checked (never in control). ``interval_days``
    is the record's own interval, or the kind's default from the scoring configuration
    when the record has none (recorded here as 0 and resolved by the reader).
    """

    __tablename__ = "agg_factor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    kind: Mapped[FactorKind] = mapped_column(enum_type(FactorKind), nullable=False)
    checked_on: Mapped[date | None] = mapped_column(Date)
    interval_days: Mapped[int] = mapped_column(Integer, nullable=False)
    n: Mapped[int] = mapped_column(Integer, nullable=False)


class AggPopulation(Base):
    """People counted by community x residence type."""

    __tablename__ = "agg_population"

    community_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    residence_type: Mapped[ResidenceType] = mapped_column(
        enum_type(ResidenceType), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, nullable=False)


class AggRecords(Base):
    """Records counted by kind x source department x community, with the newest updated_at."""

    __tablename__ = "agg_records"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, nullable=False)
    last_updated: Mapped[datetime | None] = mapped_column(DateTime)


# ---------------------------------------------------------------------------------------------
# Bookkeeping
# ---------------------------------------------------------------------------------------------
class ImportLog(Base):
    """One import of a bundle: who, when, which files, counts, rejected rows, duration."""

    __tablename__ = "import_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    bundle: Mapped[str] = mapped_column(String(500), nullable=False)
    channel: Mapped[str] = mapped_column(String(32), default="cli", nullable=False)
    files: Mapped[str] = mapped_column(Text, default="{}", nullable=False)  # JSON {file: rows}
    counts: Mapped[str] = mapped_column(Text, default="{}", nullable=False)  # JSON {kind: n}
    rejected: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    status: Mapped[ImportStatus] = mapped_column(enum_type(ImportStatus), nullable=False)
    error_report: Mapped[str | None] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(Text, default="", nullable=False)
    duration_s: Mapped[float | None] = mapped_column(Float)


class Meta(Base):
    """Small key/value facts about the database: ``data_version``, ``demo`` ..."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class AuditEntry(Base):
    """Append-only, hash-chained audit log (查询留痕). See ``fangcang.audit``."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    actor: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    target: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    detail: Mapped[str] = mapped_column(Text, default="{}", nullable=False)  # JSON
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    # "hmac1": keyed MAC over the id and the entry (fangcang.audit); "sha256": an unkeyed
    # entry written before the chain was keyed (migration 0010).
    mac: Mapped[str] = mapped_column(
        String(16), default="sha256", server_default="sha256", nullable=False
    )
