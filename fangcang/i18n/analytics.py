"""Labels of the warning analytics: the back-test and the emerging hot spots."""

STRINGS = {
    # ---- emerging hot spots ---------------------------------------------------------------
    "hotspot.category.new_hot": ("新热点", "New hot spot"),
    "hotspot.category.consecutive_hot": ("连续热点", "Consecutive hot spot"),
    "hotspot.category.intensifying_hot": ("加剧热点", "Intensifying hot spot"),
    "hotspot.category.persistent_hot": ("持续热点", "Persistent hot spot"),
    "hotspot.category.diminishing_hot": ("减弱热点", "Diminishing hot spot"),
    "hotspot.category.sporadic_hot": ("零星热点", "Sporadic hot spot"),
    "hotspot.category.oscillating_hot": ("振荡热点", "Oscillating hot spot"),
    "hotspot.category.historical_hot": ("历史热点", "Historical hot spot"),
    "hotspot.category.new_cold": ("新冷点", "New cold spot"),
    "hotspot.category.consecutive_cold": ("连续冷点", "Consecutive cold spot"),
    "hotspot.category.intensifying_cold": ("加剧冷点", "Intensifying cold spot"),
    "hotspot.category.persistent_cold": ("持续冷点", "Persistent cold spot"),
    "hotspot.category.diminishing_cold": ("减弱冷点", "Diminishing cold spot"),
    "hotspot.category.sporadic_cold": ("零星冷点", "Sporadic cold spot"),
    "hotspot.category.oscillating_cold": ("振荡冷点", "Oscillating cold spot"),
    "hotspot.category.historical_cold": ("历史冷点", "Historical cold spot"),
    "hotspot.category.no_pattern": ("无显著模式", "No pattern detected"),
    "hotspot.category.island": ("无相邻社区", "No neighbouring community"),
    "hotspot.category.not_assessed": (
        "未评估（无人口或无边界）",
        "Not assessed (no residents or no polygon)",
    ),
    "hotspot.trend.up": ("上升", "rising"),
    "hotspot.trend.down": ("下降", "falling"),
    "hotspot.trend.flat": ("无显著趋势", "no clear trend"),
    "hotspot.explain": (
        "属于高发案社区聚集区（{category}，本月Gi* z={z}，近{months}个月）",
        "Part of a cluster of high-crime communities ({category}; Gi* z = {z} this month, "
        "last {months} months)",
    ),
    "hotspot.tab": ("新兴热点", "Emerging hot spots"),
    "hotspot.title": ("新兴热点（高发案社区聚集）", "Emerging hot spots (clusters of high crime)"),
    "hotspot.caption": (
        "按月计算各社区刑事+治安警情率（每千人）的局部Getis-Ord Gi*（Queen邻接，含自身），"
        "显著性p<{alpha}；趋势为各社区月度警情数的Mann-Kendall检验。分析月份：{first} 至 {last}（{months}个月）。",
        "Local Getis-Ord Gi* of each month's criminal + public-order rate per 1,000 residents "
        "(Queen contiguity, community included), significant at p < {alpha}; trend: "
        "Mann-Kendall test of each community's monthly counts. Months: {first} to {last} "
        "({months} months).",
    ),
    "hotspot.none": ("无法分析新兴热点：{reason}", "No emerging hot-spot analysis: {reason}"),
    "hotspot.choose_district": (
        "新兴热点按区县分析（各社区与本区县社区比较）：请在侧栏选择区县。",
        "Emerging hot spots are analysed per district (each community against its district's): "
        "choose a district in the sidebar.",
    ),
    "hotspot.area": ("分析范围：{area}的全部社区。", "Study area: every community of {area}."),
    "hotspot.unplaced": (
        "{n}个社区的街道代码不是标准区划代码，无法确定所属区县（如{names}）："
        "新兴热点分析把它们作为单独的分析范围，不与其他区县的社区相邻计算。",
        "{n} communities have sub-district codes that are not standard division codes, so their "
        "district is unknown (e.g. {names}): the hot-spot analysis takes them as a study area of "
        "their own, never neighbours of another district's communities.",
    ),
    "hotspot.hot_now": ("本月热点社区", "Hot spots this month"),
    "hotspot.cold_now": ("本月冷点社区", "Cold spots this month"),
    "hotspot.islands": (
        "无相邻社区（不参与聚集判断）：{names}",
        "No neighbouring community (not judged for clustering): {names}",
    ),
    "hotspot.col.category": ("热点类型", "Category"),
    "hotspot.col.gi_z": ("本月Gi* z", "Gi* z this month"),
    "hotspot.col.months": ("热点/冷点/分析月数", "Hot / cold / months"),
    "hotspot.col.trend": ("警情趋势", "Incident trend"),
    "hotspot.col.mk_tau": ("Kendall τ", "Kendall tau"),
    "hotspot.col.mk_p": ("趋势p值", "Trend p"),
    "hotspot.col.rate_last": ("本月警情率（每千人）", "Rate this month (per 1,000)"),
    "hotspot.counts": ("各类型社区数", "Communities per category"),
    "hotspot.filter": ("热点类型筛选", "Filter by category"),
    "hotspot.legend_note": (
        "Gi* 按月（p<{alpha}），{first} 至 {last}",
        "Monthly Gi* (p < {alpha}), {first} to {last}",
    ),
    "map.colour_by.hotspot": ("新兴热点", "Emerging hot spot"),
    # ---- back-test --------------------------------------------------------------------------
    "backtest.title": (
        "回测：预警是否预见了下一季度",
        "Back-test: did the warning foresee the next quarter?",
    ),
    "backtest.caption": (
        "对每个评估月M，用M及以前的数据打分，与M+1至M+3的刑事+治安警情比较。"
        "数量目标的基线为近12个月警情数，警情率目标的基线为近12个月警情率（每千人）；"
        "PAI取排名靠前、合计占{area}{share}面积（人口加权PAI：{share}人口）的社区（回测覆盖{area}全部社区）。"
        "PAI>1表示所选社区分到的警情占比高于其面积（人口）占比。区间为按月移动分块自助法（块长{block}个月，{draws}次）的95%区间。",
        "For each assessment month M the score uses data up to M and is compared with the "
        "criminal + public-order incidents of M+1 .. M+3. Baselines: the last 12 months' count "
        "(count target) and the last 12 months' rate per 1,000 residents (rate target). PAI "
        "takes the top-ranked communities covering {share} of the area of {area} "
        "(population-weighted PAI: {share} of its residents; the back-test covers every "
        "community of {area}); PAI > 1 means they get a larger share "
        "of the incidents than of the area (residents). Intervals: 95% moving-block "
        "bootstrap over months (blocks of {block} months, {draws} resamples).",
    ),
    "backtest.none": (
        "暂无回测结果（运行 python -m fangcang backtest）。",
        "No back-test yet (run python -m fangcang backtest).",
    ),
    "backtest.excluded": (
        "未纳入的月份（输入不完整）：{months}",
        "Months left out (incomplete inputs): {months}",
    ),
    "backtest.reason.window_incomplete": (
        "近12个月数据不完整",
        "the 12 months before are not all in the data",
    ),
    "backtest.reason.gap": ("有整月无警情数据", "a month without any incident data"),
    "backtest.reason.no_residents": ("无人口数据", "no residents on file"),
    "backtest.summary": ("汇总（{n}个月平均）", "Summary (mean of {n} months)"),
    "backtest.tab": ("回测", "Back-test"),
    "backtest.monthly_rho": ("逐月：排序相关ρ", "Month by month: Spearman rho"),
    "backtest.monthly_pai": (
        "逐月：PAI（{share}面积）与人口加权PAI（{share}人口）",
        "Month by month: PAI ({share} of area) and population-weighted PAI ({share} of residents)",
    ),
    "backtest.col.figure": ("指标", "Figure"),
    "backtest.col.model": ("预警模型", "Warning model"),
    "backtest.col.baseline": ("基线", "Baseline"),
    "backtest.col.difference": ("差值（模型−基线）", "Difference (model − baseline)"),
    "backtest.col.wins": ("模型胜出月数", "Months the model wins"),
    "backtest.col.period": ("评估月", "Assessment month"),
    "backtest.col.next_crime": ("下一季度警情", "Next-quarter incidents"),
    "backtest.fig.rho_count": (
        "排序相关ρ：下一季度警情数（基线：近12个月警情数）",
        "Spearman rho with next-quarter counts (baseline: last 12 months' count)",
    ),
    "backtest.fig.rho_rate": (
        "排序相关ρ：下一季度警情率（基线：近12个月警情率）",
        "Spearman rho with next-quarter rates (baseline: last 12 months' rate)",
    ),
    "backtest.fig.pai_count": (
        "PAI（{share}面积；基线：近12个月警情数）",
        "PAI at {share} of area (baseline: last 12 months' count)",
    ),
    "backtest.fig.pai_rate": (
        "PAI（{share}面积；基线：近12个月警情率）",
        "PAI at {share} of area (baseline: last 12 months' rate)",
    ),
    "backtest.fig.pai_pop_count": (
        "人口加权PAI（{share}人口；基线：近12个月警情数）",
        "Population-weighted PAI at {share} of residents (baseline: last 12 months' count)",
    ),
    "backtest.fig.pai_pop_rate": (
        "人口加权PAI（{share}人口；基线：近12个月警情率）",
        "Population-weighted PAI at {share} of residents (baseline: last 12 months' rate)",
    ),
    "backtest.short.rho_count_model": ("ρ数量·模型", "rho count · model"),
    "backtest.short.rho_count_base": ("ρ数量·基线", "rho count · baseline"),
    "backtest.short.rho_rate_model": ("ρ警情率·模型", "rho rate · model"),
    "backtest.short.rho_rate_base": ("ρ警情率·基线", "rho rate · baseline"),
    "backtest.short.pai_model": ("PAI·模型", "PAI · model"),
    "backtest.short.pai_count_base": ("PAI·数量基线", "PAI · count baseline"),
    "backtest.short.pai_rate_base": ("PAI·警情率基线", "PAI · rate baseline"),
    "backtest.short.pai_pop_model": ("人口PAI·模型", "pop. PAI · model"),
    "backtest.short.pai_pop_count_base": ("人口PAI·数量基线", "pop. PAI · count baseline"),
    "backtest.short.pai_pop_rate_base": ("人口PAI·警情率基线", "pop. PAI · rate baseline"),
    "backtest.short.win_count": ("数量：模型胜", "count: model wins"),
    "backtest.short.win_rate": ("警情率：模型胜", "rate: model wins"),
    "backtest.win": ("胜", "win"),
    "backtest.loss": ("负", "loss"),
    "backtest.tie": ("平", "tie"),
    "backtest.interval": ("{mean}（{low}～{high}）", "{mean} ({low} to {high})"),
    "backtest.wins_of": ("{wins}/{n}", "{wins} of {n}"),
}
