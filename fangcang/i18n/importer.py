"""Strings of the data hub's upload preview and rejected-rows list (importer, issue 12)."""

STRINGS: dict[str, tuple[str, str]] = {
    "imp.coord_system": ("坐标系", "Coordinate system"),
    "imp.coord.auto": (
        "按文件 / bundle.toml（默认 WGS-84）",
        "As the files / bundle.toml say (default WGS-84)",
    ),
    "imp.coord.wgs84": ("WGS-84 / CGCS2000（GPS、天地图）", "WGS-84 / CGCS2000 (GPS, Tianditu)"),
    "imp.coord.gcj02": ("GCJ-02（高德、腾讯）", "GCJ-02 (Amap, Tencent)"),
    "imp.coord.bd09": ("BD-09（百度）", "BD-09 (Baidu)"),
    "imp.coord_help": (
        "经纬度来自高德、腾讯或百度地图时请选择对应坐标系，导入时统一转换为 WGS-84。",
        "Points taken from Amap, Tencent or Baidu maps: choose their system; they are "
        "converted to WGS-84 on import.",
    ),
    "imp.coord_hint": (
        "{file}：坐标看起来是 {fits}，而不是 {declared}。按 {declared} 读取，抽查的 {checked} "
        "个点中有 {bad} 个落在所有社区之外或与社区编号不符；按 {fits} 读取为 {good} 个。"
        "该文件未导入：请在上方选择坐标系「{fits}」后重新校验。",
        "{file}: the points look like {fits}, not {declared}. Read as {declared}, {bad} of "
        "{checked} checked points fall outside every community or in another community than "
        "their community_id; read as {fits}, {good} do. The file is not imported: choose "
        "'{fits}' above and check again.",
    ),
    "imp.col.read_as": ("读取方式", "Read as"),
    "imp.coord_short.wgs84": ("WGS-84", "WGS-84"),
    "imp.coord_short.gcj02": ("GCJ-02 → WGS-84", "GCJ-02 → WGS-84"),
    "imp.coord_short.bd09": ("BD-09 → WGS-84", "BD-09 → WGS-84"),
    "imp.col.coordinates": ("坐标系", "Coordinates"),
    "imp.read.sheet": ("工作表「{sheet}」", "sheet {sheet}"),
    "imp.read.sheet_of": (
        "工作表「{sheet}」（{i}/{n}）",
        "sheet {sheet} ({i} of {n})",
    ),
    "imp.read.text": ("{encoding}，{delim}", "{encoding}, {delim}"),
    "imp.read.header": ("表头在第 {row} 行", "header on row {row}"),
    "imp.read.skipped": ("跳过空行：{rows}", "empty rows skipped: {rows}"),
    "imp.delim.,": ("逗号分隔", "comma-separated"),
    "imp.delim.\t": ("制表符分隔", "tab-separated"),
    "imp.delim.;": ("分号分隔", "semicolon-separated"),
    "imp.col.unused": ("未使用的列", "Columns not used"),
    "imp.unused_note": (
        "“未使用的列”不会导入。若其中有应当导入的数据，请把表头改成数据契约中的名称。",
        "Columns not used are not imported. If one holds data you need, rename its header "
        "to the name in the data contract.",
    ),
    "imp.rejected.title": ("待更正的拒收行", "Rejected rows kept for correction"),
    "imp.rejected.caption": (
        "部分导入时被拒收的行，保留原始值（含个人信息）供部门更正后重新导入；仅管理员可见，"
        "下载记入审计，{days} 天后自动删除。",
        "Rows a partial import rejected, with their original values (personal data) for the "
        "department to correct and send again; administrators only, downloads are audited, "
        "deleted after {days} days.",
    ),
    "imp.rejected.none": ("没有保留的拒收行。", "No rejected rows are kept."),
    "imp.rejected.pick": ("选择文件", "File"),
    "imp.rejected.prepare": ("准备下载（记入审计）", "Prepare download (audited)"),
    "imp.rejected.download": ("下载 {file}", "Download {file}"),
    "imp.col.folder": ("导入批次", "Import"),
    "imp.col.rows": ("行数", "Rows"),
    "imp.col.created": ("生成时间", "Written"),
    "imp.col.expires": ("删除时间", "Deleted on"),
}
