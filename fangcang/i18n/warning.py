"""Labels and explanation sentences of the targeted warning (靶向预警)."""

STRINGS: dict[str, tuple[str, str]] = {
    # levels (enum_label(WarningLevel.RED) -> "warning_level.red")
    "warning_level.green": ("绿", "Green"),
    "warning_level.blue": ("蓝", "Blue"),
    "warning_level.yellow": ("黄", "Yellow"),
    "warning_level.red": ("红", "Red"),
    "warning.level_long.green": ("绿色", "green"),
    "warning.level_long.blue": ("蓝色预警", "blue warning"),
    "warning.level_long.yellow": ("黄色预警", "yellow warning"),
    "warning.level_long.red": ("红色预警", "red warning"),
    # indicators
    "warning.indicator.crime_ratio": ("刑事治安警情率（对全区）", "Crime rate (vs district)"),
    "warning.indicator.incident_ratio": ("110警情率（对全区）", "Incident rate (vs district)"),
    "warning.indicator.trend": ("近期趋势（对全区）", "Recent trend (vs district)"),
    "warning.indicator.control_ratio": (
        "治安要素失控率（对全区）",
        "Factor control gap (vs district)",
    ),
    "warning.indicator.floating_ratio": ("流动人口占比（对全区）", "Floating share (vs district)"),
    "warning.indicator.incident_rate": ("110警情率", "Incident rate"),
    "warning.indicator.crime_rate": ("刑事治安警情率", "Crime rate"),
    "warning.indicator.incident_trend": ("警情变化", "Incident trend"),
    "warning.indicator.control_gap": ("治安要素失控率", "Factor control gap"),
    "warning.indicator.floating_share": ("流动人口占比", "Floating share"),
    "warning.unit.incident_rate": ("起/千人", "per 1,000 residents"),
    "warning.unit.crime_rate": ("起/千人", "per 1,000 residents"),
    "warning.unit.incident_trend": ("z值", "z"),
    "warning.unit.control_gap": ("未按期检查比例", "share not checked in time"),
    "warning.unit.floating_share": ("流动及境外人口比例", "floating + overseas share"),
    # columns
    "warning.col.community": ("社区", "Community"),
    "warning.col.sub_district": ("街道", "Sub-district"),
    "warning.col.station": ("派出所", "Station"),
    "warning.col.score": ("综合得分", "Score"),
    "warning.col.level": ("预警等级", "Level"),
    "warning.col.stability": ("稳定度", "Stability"),
    "warning.col.borderline": ("临界", "Borderline"),
    "warning.col.significant": ("显著变化", "Significant change"),
    "warning.col.period": ("月份", "Month"),
    "warning.col.percentile": ("百分位", "Percentile"),
    "warning.col.points": ("分值", "Points"),
    "warning.col.pending": ("待生效变化", "Pending change"),
    "warning.col.trend": ("趋势", "Trend"),
    "warning.pending.upgrade": ("待升级", "Pending upgrade"),
    "warning.pending.downgrade": ("待降级", "Pending downgrade"),
    "warning.trend_mark.up": ("↑显著上升", "↑ significant rise"),
    "warning.trend_mark.down": ("↓显著下降", "↓ significant fall"),
    "warning.trend_mark.flat": ("平稳", "Steady"),
    "warning.trend_mark.na": ("趋势不可用", "Trend not available"),
    "warning.col.weight": ("权重", "Weight"),
    "warning.col.contribution": ("贡献分", "Contribution"),
    # level changes
    "warning.change.new_red": ("新增红色", "New red"),
    "warning.change.upgraded": ("升级", "Upgraded"),
    "warning.change.downgraded": ("降级", "Downgraded"),
    "warning.change.new": ("首次评估", "First assessed"),
    # back-test
    "warning.backtest.rho": ("排序相关(Spearman ρ)", "Rank correlation (Spearman rho)"),
    "warning.backtest.hit_share": (
        "红黄社区占下季度警情比例",
        "Share of next-quarter incidents in red + yellow",
    ),
    "warning.backtest.area_share": ("红黄社区面积占比", "Area share of red + yellow"),
    "warning.backtest.pai": ("预测精度指数(PAI)", "Predictive accuracy index (PAI)"),
    "warning.backtest.baseline": (
        "基线：按上一窗口警情数排序",
        "Baseline: ranked by last window's incidents",
    ),
    "warning.backtest.model": ("预警模型", "Warning model"),
    # explanation sentences
    "warning.explain.headline": (
        "综合得分{score}分，{level}。",
        "Score {score}: {level}.",
    ),
    "warning.explain.zero_residents": (
        "该社区无登记人口：警情率和流动人口占比按0计，请核实人口数据。",
        "No residents on record: the rates and the floating share count as 0; check the population data.",
    ),
    "warning.explain.incident_rate": (
        "110警情率为全区中位数的{ratio}倍（每千人{value}起）",
        "Incident rate {ratio}x the district median ({value} per 1,000 residents)",
    ),
    "warning.explain.incident_rate_nomedian": (
        "110警情率每千人{value}起（全区中位数为0）",
        "Incident rate {value} per 1,000 residents (district median 0)",
    ),
    "warning.explain.crime_rate": (
        "刑事治安警情率为全区中位数的{ratio}倍（每千人{value}起）",
        "Crime rate {ratio}x the district median ({value} per 1,000 residents)",
    ),
    "warning.explain.crime_rate_nomedian": (
        "刑事治安警情率每千人{value}起（全区中位数为0）",
        "Crime rate {value} per 1,000 residents (district median 0)",
    ),
    "warning.explain.incident_trend_up": (
        "近{months}个月警情{now}起，去年同期{before}起，显著上升（z={z}）",
        "{now} incidents in the last {months} months against {before} a year earlier: a significant rise (z={z})",
    ),
    "warning.explain.incident_trend_down": (
        "近{months}个月警情{now}起，去年同期{before}起，显著下降（z={z}）",
        "{now} incidents in the last {months} months against {before} a year earlier: a significant fall (z={z})",
    ),
    "warning.explain.incident_trend_flat": (
        "近{months}个月警情{now}起，去年同期{before}起，变化在正常波动范围内（z={z}）",
        "{now} incidents in the last {months} months against {before} a year earlier: within normal variation (z={z})",
    ),
    "warning.explain.control_gap": (
        "{total}个治安要素中{out}个未按期检查",
        "{out} of {total} public-order factors not checked in time",
    ),
    "warning.explain.control_gap_none": (
        "无治安要素",
        "No public-order factors on record",
    ),
    "warning.explain.floating_share": (
        "流动及境外人口占{share}%（全区中位数{median}%）",
        "Floating and overseas residents {share}% (district median {median}%)",
    ),
    "warning.explain.terms": (
        "（百分位{p}，权重{w}%，贡献{c}分）",
        " (percentile {p}, weight {w}%, {c} points)",
    ),
    "warning.explain.stability": (
        "权重在±{spread}%内随机变动{draws}次，{share}%的情况下等级不变。",
        "With weights varied within +/-{spread}% in {draws} draws, the level held in {share}% of them.",
    ),
    "warning.explain.borderline": (
        "等级处于临界，需结合实际研判。",
        "The level is borderline: weigh it with local knowledge.",
    ),
    "warning.explain.window_unstable": (
        "统计窗口提前一个月时等级会改变。",
        "The level changes when the window ends one month earlier.",
    ),
    "warning.explain.separator": ("；", "; "),
    # model 2
    "warning.explain.crime_ratio": (
        "刑事治安警情率为全区的{ratio}倍（近{months}个月每千人{value}起，全区{district}起；经经验贝叶斯平滑）",
        "Crime rate {ratio}x the district's ({value} per 1,000 residents in {months} months, district {district}; empirical-Bayes smoothed)",
    ),
    "warning.explain.incident_ratio": (
        "110警情率为全区的{ratio}倍（近{months}个月每千人{value}起，全区{district}起）",
        "Incident rate {ratio}x the district's ({value} per 1,000 residents in {months} months, district {district})",
    ),
    "warning.explain.trend_up": (
        "近{months}个月刑事治安警情{now}起，去年同期{before}起（全区同期{district}），相对全区显著上升↑（z={z}，{p}）",
        "{now} crimes in the last {months} months against {before} a year earlier (district {district}): a significant rise against the district ↑ (z={z}, {p})",
    ),
    "warning.explain.trend_down": (
        "近{months}个月刑事治安警情{now}起，去年同期{before}起（全区同期{district}），相对全区显著下降↓（z={z}，{p}）",
        "{now} crimes in the last {months} months against {before} a year earlier (district {district}): a significant fall against the district ↓ (z={z}, {p})",
    ),
    "warning.explain.trend_flat": (
        "近{months}个月刑事治安警情{now}起，去年同期{before}起（全区同期{district}），与全区变化相比在正常波动范围内（z={z}）",
        "{now} crimes in the last {months} months against {before} a year earlier (district {district}): within normal variation against the district (z={z})",
    ),
    "warning.explain.trend_na": (
        "去年同期数据不完整，趋势不可用",
        "Trend not available: the year-before window is incomplete",
    ),
    "warning.explain.control_ratio": (
        "{total}个治安要素中{out}个未按期检查（{share}%，全区{district}%）",
        "{out} of {total} public-order factors not checked in time ({share}%, district {district}%)",
    ),
    "warning.explain.floating_ratio": (
        "流动及境外人口占{share}%（全区{district}%）",
        "Floating and overseas residents {share}% (district {district}%)",
    ),
    "warning.explain.points": (
        "（{pts}分，权重{w}%，贡献{c}分）",
        " ({pts} points, weight {w}%, {c} to the score)",
    ),
    "warning.explain.significant": (
        "刑事治安警情率高于全区，差异显著（精确泊松检验 {p}，阈值 {alpha}）。",
        "The crime rate is above the district's and the excess is significant (exact Poisson test {p}, threshold {alpha}).",
    ),
    "warning.explain.not_significant": (
        "刑事治安警情率未显著高于全区（精确泊松检验 {p}，阈值 {alpha}）。",
        "The crime rate is not significantly above the district's (exact Poisson test {p}, threshold {alpha}).",
    ),
    "warning.explain.gated": (
        "得分已达黄色，但超出不显著，等级最高为蓝色。",
        "The score reaches yellow, but without a significant excess the level stays at most blue.",
    ),
    "warning.explain.pending_upgrade": (
        "本月测得{raw}，待升级：连续两个月才生效。",
        "This month measures {raw}: pending upgrade, it takes effect when it holds two months.",
    ),
    "warning.explain.pending_downgrade": (
        "本月测得{raw}，待降级：连续两个月才生效。",
        "This month measures {raw}: pending downgrade, it takes effect when it holds two months.",
    ),
}
