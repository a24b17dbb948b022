"""Labels of review-meeting periods, their comparisons and the cross-filter chips."""

STRINGS: dict[str, tuple[str, str]] = {
    "period.kind": ("时段", "Period"),
    "period.kind.month": ("月份", "Month"),
    "period.kind.7d": ("近7天", "Last 7 days"),
    "period.kind.28d": ("近28天", "Last 28 days"),
    "period.kind.quarter": ("季度", "Quarter"),
    "period.kind.ytd": ("年初至今", "Year to date"),
    "period.kind.custom": ("自定义日期", "Custom range"),
    "period.quarter": ("季度", "Quarter"),
    "period.range": ("日期范围", "Date range"),
    "period.as_of": ("数据截至 {day}", "Data as of {day}"),
    "period.window": ("本期 {window}", "This period {window}"),
    "period.n": ("本期", "This period"),
    "period.year_before": ("同比", "YoY"),
    "period.previous": ("环比", "vs prior"),
    "period.col.year_before": ("去年同期", "Year before"),
    "period.col.previous": ("上一周期", "Prior period"),
    "period.col.change": ("增减", "Change"),
    "period.col.pct": ("增减%", "Change %"),
    "period.col.verdict": ("判断", "Verdict"),
    "period.vs": ("{label} {n}", "{label} {n}"),
    "period.unavailable": ("无可比数据", "no comparison"),
    "period.unavailable_help": (
        "对比时段 {window} 早于数据起点 {day}，不与 0 比较。",
        "The comparison window {window} starts before the data ({day}); it is not compared "
        "with zeros.",
    ),
    "period.ytd_no_previous": (
        "年初至今只与去年同期比较",
        "Year to date is compared with the same days a year earlier only",
    ),
    "period.windows_ytd": (
        "本期 {now}（数据截至 {as_of}）· 同比 {yb} · 年初至今只与去年同期比较，不做环比",
        "This period {now} (data as of {as_of}) · year before {yb} · year to date is compared "
        "with the same days a year earlier only, not with a prior period",
    ),
    "period.no_units": ("本范围内没有可列出的{what}。", "No {what} to list in this area."),
    "period.bad_link": (
        "链接中的时段“{value}”无效：{reason}。现显示最近一个月 {month}。",
        "The period “{value}” in the link is not valid: {reason}. Showing the latest month, "
        "{month}, instead.",
    ),
    "period.verdict.up": ("明显上升", "Real rise"),
    "period.verdict.down": ("明显下降", "Real fall"),
    "period.verdict.noise": ("正常波动", "Normal variation"),
    "period.verdict.unavailable": ("无可比数据", "No comparison"),
    "period.z_help": (
        "{window}：{n}（按日均折算后比较）。精确检验 z = {z}；|z| ≥ 1.96 才判为超出随机波动。",
        "{window}: {n} (compared as daily rates). Exact test z = {z}; |z| ≥ 1.96 counts as "
        "beyond random variation.",
    ),
    "period.windows": (
        "本期 {now}（数据截至 {as_of}）· 同比 {yb} · 环比 {prev}",
        "This period {now} (data as of {as_of}) · year before {yb} · prior period {prev}",
    ),
    "period.running": (
        "{what}尚未结束：统计到 {day}，对比时段取同样天数。",
        "{what} is still running: counted to {day}, compared over the same number of days.",
    ),
    "period.not_covered": (
        "本期起点早于数据起点 {day}：之前的日子没有数据。",
        "This period starts before the data ({day}): the days before have no data.",
    ),
    "period.comparison": ("时段对比", "Period comparison"),
    "period.warning_monthly": (
        "预警等级按月评定：这里显示 {month} 的等级。所选时段（{window}）只用于警情对比，"
        "不改变等级。",
        "Warning levels are monthly decisions: this shows the levels of {month}. The chosen "
        "period ({window}) applies to incident comparisons only and does not change a level.",
    ),
    "period.warning_page": (
        "预警等级按月评定：这里显示 {month} 的等级（所选时段 {window} 内最近一次评定）。"
        "该时段的警情对比见总览、趋势和社区页。",
        "Warning levels are monthly decisions: this shows the levels of {month} (the latest "
        "assessment within {window}). The period's incident comparisons are on the overview, "
        "trends and community pages.",
    ),
    "period.map_monthly": (
        "颜色为 {month} 的月度预警；所选时段（{window}）的警情对比见右侧社区详情。",
        "Colours are the monthly warning of {month}; the chosen period ({window}) is compared "
        "in the community details.",
    ),
    "period.charts_months": (
        "图表为截至 {month} 的 12 个月；表格为所选时段。",
        "Charts: the 12 months to {month}; tables: the chosen period.",
    ),
    # cross-filter chips
    "chips.active": ("已筛选", "Filtered by"),
    "chips.clear": ("清除筛选：{label}", "Clear filter: {label}"),
    "chips.clear_all": ("全部清除", "Clear all"),
    "chips.hint_trends": (
        "点击图中的柱或表中的一行即可筛选本页（上方显示筛选，点 × 清除）。",
        "Click a bar or a table row to filter this page (the filter shows above; × clears it).",
    ),
    "overview.top_click": (
        "点击一行打开该社区的详情页。",
        "Click a row to open that community's page.",
    ),
    "period.by.sub_district": ("按街道", "By sub-district"),
    "period.by.community": ("按社区", "By community"),
    "period.by.station": ("按派出所", "By police station"),
    "period.by.category": ("按类别", "By category"),
}
