"""Labels for focused work, effect evaluation and warning bulletins."""

STRINGS: dict[str, tuple[str, str]] = {
    # navigation
    "nav.bulletins": ("预警通报", "Bulletins"),
    "nav.effect": ("整治成效", "Effect of focused work"),
    # effect: columns and words
    "effect.col.metric": ("指标", "Metric"),
    "effect.col.now": ("本期", "This period"),
    "effect.col.last_year": ("去年同期", "Same period last year"),
    "effect.col.pct": ("同比", "Year on year"),
    "effect.col.significant": ("显著性", "Significance"),
    "effect.zero_last_year": ("去年同期为0", "zero last year"),
    "effect.sig.yes": ("显著", "significant"),
    "effect.sig.no": ("不显著", "not significant"),
    "effect.sentence.raw": (
        "{name}{metric}：整治前{k}个月{before}起，整治后{k}个月{after}起，变化{pct}（{sig}）。",
        "{name}, {metric}: {before} in the {k} months before focused work, {after} in the {k} "
        "months after, {pct} ({sig}). ",
    ),
    "effect.verdict.no_comparison": (
        "没有可比社区，无法区分整治成效与自然回落。",
        "No comparable community was found, so the work cannot be told apart from a fall that "
        "would have happened anyway.",
    ),
    "effect.verdict.likely_effect": (
        "同期{n}个可比社区（未整治）合计变化{comp_pct}，单个社区在{lo}至{hi}之间；"
        "扣除可比社区的同期变化后，净变化为{did}（显著），降幅超出所有可比社区，较可能是整治成效。",
        "Over the same months the {n} comparable communities without focused work changed "
        "{comp_pct} together ({lo} to {hi} each); net of that, the change is {did} "
        "(significant), beyond every comparison community: likely an effect of the work.",
    ),
    "effect.verdict.worse_than_comparison": (
        "同期{n}个可比社区（未整治）合计变化{comp_pct}，单个社区在{lo}至{hi}之间；"
        "本社区差于所有可比社区（净变化{did}，显著），需要复查整治措施。",
        "Over the same months the {n} comparable communities without focused work changed "
        "{comp_pct} together ({lo} to {hi} each); this community did worse than all of them "
        "({did} net, significant): review the measures.",
    ),
    "effect.verdict.within_comparison": (
        "注意：同期{n}个可比社区（未整治）合计变化{comp_pct}，单个社区在{lo}至{hi}之间；"
        "本社区的变化与这些社区自身的变化没有显著差异（扣除后净变化{did}），"
        "不能认定是整治带来的，可能只是自然波动或回归均值。",
        "Caution: over the same months the {n} comparable communities without focused work "
        "changed {comp_pct} together ({lo} to {hi} each). This community's change is not "
        "significantly different from what they did by themselves ({did} net), so it cannot be credited "
        "to the work; it may be ordinary variation or regression to the mean.",
    ),
    "effect.verdict_short.no_comparison": ("无可比社区", "no comparison"),
    "effect.verdict_short.likely_effect": ("较可能是整治成效", "likely an effect"),
    "effect.verdict_short.worse_than_comparison": ("差于可比社区", "worse than comparison"),
    "effect.verdict_short.within_comparison": (
        "与可比社区无显著差异",
        "no different from comparison",
    ),
    "effect.col.change": ("{m}变化", "{m}: change"),
    "effect.col.net": ("{m}净变化", "{m}: net of comparison"),
    "effect.col.verdict_m": ("结论（{m}）", "Verdict ({m})"),
    "effect.measure.total": ("110警情总量", "110 total"),
    "effect.short.total": ("110", "110"),
    "effect.short.crime": ("刑事治安", "Crime+PO"),
    "effect.col.before_short": ("{m}前", "{m} before"),
    "effect.col.after_short": ("{m}后", "{m} after"),
    "effect.measure.crime": ("刑事治安警情", "Criminal and public order"),
    # effect page
    "effect.title": ("整治成效评估", "Effect of focused work"),
    "effect.months": ("对比月数（整治前后各N个月）", "Months before and after (N)"),
    "effect.as_of": ("截至月份", "Up to month"),
    "effect.none": (
        "尚无整治社区，或整治开始后还没有完整月份。",
        "No focused work yet, or none with a complete month since it started.",
    ),
    "effect.community": ("整治社区", "Community under focused work"),
    "effect.start": ("开始日期", "Start date"),
    "effect.end": ("结束日期", "End date"),
    "effect.open": ("进行中", "ongoing"),
    "effect.measures": ("整治措施", "Measures"),
    "effect.windows": (
        "整治前 {b0} 至 {b1}；整治后 {a0} 至 {a1}（各{k}个月）",
        "Before {b0} to {b1}; after {a0} to {a1} ({k} months each)",
    ),
    "effect.before": ("整治前", "Before"),
    "effect.after": ("整治后", "After"),
    "effect.change": ("变化", "Change"),
    "effect.comparison": ("可比社区合计", "Comparison communities"),
    "effect.did": ("扣除可比社区后（双重差分）", "Net of comparison (DiD)"),
    "effect.did_points": ("百分点差", "Difference in points"),
    "effect.comparisons": (
        "可比社区（未整治，按预警等级和整治前发案率匹配）",
        "Comparison communities (no focused work; matched on warning level and incident rate before)",
    ),
    "effect.levels_missing": (
        "整治前一个月没有保存的预警结果，可比社区仅按发案率匹配。",
        "No stored warning run for the month before, so comparison communities are matched on incident rate only.",
    ),
    "effect.col.community": ("社区", "Community"),
    "effect.col.level": ("预警等级", "Level"),
    "effect.col.level_matched": ("同级", "Same level"),
    "effect.col.rate": ("整治前每千人警情", "Rate before (/1,000)"),
    "effect.chart.title": (
        "月度警情：整治社区与可比社区平均",
        "Monthly incidents: the community and the comparison average",
    ),
    "effect.chart.focal": ("本社区", "This community"),
    "effect.chart.comparison": ("可比社区平均", "Comparison average"),
    "effect.chart.start": ("整治开始", "Work starts"),
    "effect.outside_group": (
        "辖区外对照社区 {n} 个（合计；平均警情率）",
        "{n} comparison communities outside your jurisdiction (summed; mean rate)",
    ),
    "effect.yoy.title": ("全区同比（按类别）", "District year on year (by category)"),
    "effect.yoy.title_scope": (
        "辖区同比（按类别）",
        "Your jurisdiction year on year (by category)",
    ),
    "effect.yoy.from": ("起始月份", "From month"),
    "effect.yoy.to": ("结束月份", "To month"),
    "effect.yoy.order": ("结束月份早于起始月份。", "The end month is before the start month."),
    "effect.col.verdict": ("结论", "Verdict"),
    "effect.yoy.caption": (
        "与去年同期相比；显著性按精确泊松检验（p<0.05，即|z|≥1.96）。",
        "Against the same months a year earlier; significance by the exact Poisson test (p < 0.05, i.e. |z| >= 1.96).",
    ),
    "effect.focus.manage": ("整治登记", "Register focused work"),
    "effect.focus.start_btn": ("开始整治", "Start focused work"),
    "effect.focus.end_btn": ("结束整治", "End focused work"),
    "effect.focus.started": ("已登记整治。", "Focused work registered."),
    "effect.focus.ended": ("已结束整治。", "Focused work ended."),
    "effect.focus.which": ("选择整治记录", "Focused work"),
    # bulletins
    "bulletin.title": ("预警通报", "Warning bulletins"),
    "bulletin.doc_title": ("鹿城区社区靶向预警通报", "Lucheng community warning bulletin"),
    "bulletin.number": ("{year}年第{number}期", "{year} No. {number}"),
    "bulletin.doc_number": ("鹿公预〔{year}〕{number}号", "Lucheng warning [{year}] No. {number}"),
    # specific requirements (具体要求), generated per community (fangcang.bulletins.requirements)
    "bulletin.req.section": ("本期{level}预警社区{n}个", "{n} {level} communities"),
    "bulletin.req.section_new": ("新列入{n}个", "{n} new"),
    "bulletin.req.section_again": ("连续预警{n}个", "{n} named again"),
    "bulletin.req.section_open": ("尚有未完成任务{n}项", "{n} task items open"),
    "bulletin.req.red_new": (
        "新列为红色预警社区：列为重点整治对象，派出所所长挂点督办，{deadline}前制定整治方案并上报。",
        "Newly red: focused work under the station chief; a plan by {deadline}.",
    ),
    "bulletin.req.red_again": (
        "连续{n}个月红色预警：派出所所长挂点督办，{deadline}前对照原整治方案查找未见成效的原因并调整措施。",
        "Red for {n} months: the station chief reviews why the plan has not worked and adjusts it by {deadline}.",
    ),
    "bulletin.req.red_escalate": (
        "连续{n}个月红色预警、未能降级：提请分局挂牌督办，{deadline}前由派出所上报专项整治评估。",
        "Red for {n} months, not coming down: the sub-bureau takes over supervision; an evaluation by {deadline}.",
    ),
    "bulletin.req.yellow_new": (
        "新列为黄色预警社区：派出所加强关注，社区民警{deadline}前完成一轮走访排查。",
        "Newly yellow: station attention; the officer completes a round of visits by {deadline}.",
    ),
    "bulletin.req.yellow_again": (
        "连续{n}个月黄色预警：派出所分管领导跟进，社区民警{deadline}前完成一轮走访排查，防止升为红色。",
        "Yellow for {n} months: the deputy chief follows up; a round of visits by {deadline} to keep it from red.",
    ),
    "bulletin.req.yellow_down": (
        "由红色降为黄色：巩固整治成果，{deadline}前完成一轮走访排查，防止反弹。",
        "Down from red: keep the gains; a round of visits by {deadline} to prevent a relapse.",
    ),
    "bulletin.req.crime": (
        "刑事治安警情率为全区的{ratio}倍（近{months}个月{count}起）：针对高发案类开展打防。",
        "Crime rate {ratio}x the district's ({count} in {months} months): target the commonest crimes.",
    ),
    "bulletin.req.incident": (
        "110警情率为全区的{ratio}倍（近{months}个月{count}起）：加密重点时段巡逻。",
        "Incident rate {ratio}x the district's ({count} in {months} months): more patrols at peak hours.",
    ),
    "bulletin.req.trend_up": (
        "近{months}个月刑事治安警情{now}起，去年同期{before}起，明显上升：分析上升原因并逐条落实。",
        "{now} crimes in {months} months against {before} a year earlier, a clear rise: analyse it and act on each cause.",
    ),
    "bulletin.req.trend_down": (
        "近{months}个月刑事治安警情{now}起，去年同期{before}起，明显下降：巩固现有措施。",
        "{now} crimes in {months} months against {before} a year earlier, a clear fall: keep the measures.",
    ),
    "bulletin.req.control": (
        "{out}个治安要素未按期检查（共{total}个）：{deadline}前逐一落实检查。",
        "{out} of {total} public-order factors overdue for a check: check each by {deadline}.",
    ),
    "bulletin.req.floating": (
        "流动及境外人口占{share}%（全区{district}%）：加强流动人口登记核查。",
        "Floating residents {share}% (district {district}%): verify their registrations.",
    ),
    "bulletin.req.tasks": (
        "尚有{n}项任务未完成{overdue}：{deadline}前完成并反馈。",
        "{n} task items still open{overdue}: complete and report by {deadline}.",
    ),
    "bulletin.req.tasks_overdue": ("（其中{n}项已逾期）", " ({n} overdue)"),
    "bulletin.req.crime_plain": ("针对高发案类开展打防。", "Target the commonest crimes."),
    "bulletin.req.incident_plain": ("加密重点时段巡逻。", "More patrols at peak hours."),
    "bulletin.req.trend_plain": (
        "分析警情上升原因并逐条落实。",
        "Analyse the rise and act on each cause.",
    ),
    "bulletin.req.control_plain": (
        "对未按期检查的治安要素逐一落实检查。",
        "Check every overdue public-order factor.",
    ),
    "bulletin.req.floating_plain": (
        "加强流动人口登记核查。",
        "Verify floating-population registrations.",
    ),
    "bulletin.issuer": ("{district}公安分局", "{district} Public Security Sub-bureau"),
    "bulletin.issued_on": ("发布日期", "Issued"),
    "bulletin.period": ("通报月份", "Period"),
    "bulletin.issue": ("发布通报", "Issue bulletin"),
    "bulletin.issue_for": (
        "通报月份（需有已保存的预警结果）",
        "Period (needs a stored warning run)",
    ),
    "bulletin.issuing": (
        "正在生成通报（含地图和图表）…",
        "Building the bulletin (map and charts) ...",
    ),
    "bulletin.issued": ("已发布 {title}。", "Issued {title}."),
    "bulletin.already": (
        "该月份已发布过通报：{titles}。再次发布将产生新的期号。",
        "Bulletins already issued for this period: {titles}. Issuing again gives a new number.",
    ),
    "bulletin.confirm_again": ("确认再次发布", "Issue again anyway"),
    "bulletin.history": ("通报历史", "History"),
    "bulletin.search": ("搜索（期号、月份或社区名称）", "Search (number, period or community)"),
    "bulletin.none": ("尚未发布任何通报。", "No bulletin has been issued yet."),
    "bulletin.no_match": ("没有符合条件的通报。", "No bulletin matches."),
    "bulletin.no_runs": (
        "没有已保存的预警结果，无法发布通报。",
        "No stored warning run: nothing to issue a bulletin from.",
    ),
    "bulletin.named": ("点名社区", "Communities named"),
    "bulletin.download_docx": ("下载Word", "Download Word"),
    "bulletin.download_html": ("下载打印版HTML", "Download printable HTML"),
    "bulletin.preview": ("预览", "Preview"),
    "bulletin.col.title": ("期号", "Number"),
    "bulletin.col.period": ("月份", "Period"),
    "bulletin.col.issued": ("发布时间", "Issued"),
    "bulletin.col.by": ("发布人", "Issued by"),
    "bulletin.col.red": ("红色", "Red"),
    "bulletin.col.yellow": ("黄色", "Yellow"),
    "bulletin.col.communities": ("点名社区", "Communities named"),
    # bulletin document sections (the document itself is Chinese)
    "bulletin.sec.summary": ("一、全区治安形势", "1. The district"),
    "bulletin.sec.levels": ("二、预警等级分布", "2. Warning levels"),
    "bulletin.sec.red": ("三、红色预警社区", "3. Red communities"),
    "bulletin.sec.yellow": ("四、黄色预警社区", "4. Yellow communities"),
    "bulletin.sec.changes": (
        "五、等级变化（与上期通报相比）",
        "5. Changes since the last bulletin",
    ),
    "bulletin.sec.tasks": ("六、前期预警社区任务完成情况", "6. Tasks of communities warned before"),
    "bulletin.sec.map": ("附图：全区社区预警分布", "Map: warning levels of the district"),
    "bulletin.no_tasks": ("暂无任务数据。", "No task data."),
    "bulletin.no_previous": (
        "本期为首期通报，无上期对比。",
        "This is the first bulletin: nothing to compare with.",
    ),
    "bulletin.no_changes": ("与上期相比无等级变化。", "No level changes since the last bulletin."),
    "bulletin.none_at_level": ("本期无此等级社区。", "No community at this level."),
    "bulletin.upgraded": ("升级", "upgraded"),
    "bulletin.downgraded": ("降级", "downgraded"),
    "bulletin.new": ("新进入", "newly named"),
    "bulletin.col.community": ("社区", "Community"),
    "bulletin.col.sub_district": ("街道", "Sub-district"),
    "bulletin.col.station": ("派出所", "Station"),
    "bulletin.col.officer": ("社区民警", "Officer"),
    "bulletin.col.score": ("得分", "Score"),
    "bulletin.col.reasons": ("主要原因", "Reasons"),
    "bulletin.col.actions": ("具体要求", "Specific actions"),
    "bulletin.requirement": ("工作要求：", "Required: "),
    "bulletin.level_count": ("{n}个", "{n}"),
    "bulletin.col.from": ("上期", "Before"),
    "bulletin.col.to": ("本期", "Now"),
    "bulletin.col.change": ("变化", "Change"),
    "bulletin.col.items": ("任务数", "Items"),
    "bulletin.col.done": ("已完成", "Done"),
    "bulletin.col.completion": ("完成率", "Completion"),
    "bulletin.col.overdue": ("逾期", "Overdue"),
    "bulletin.col.level": ("等级", "Level"),
    "bulletin.col.count": ("社区数", "Communities"),
    "bulletin.col.metric": ("指标", "Metric"),
    "bulletin.col.month": ("本月", "This month"),
    "bulletin.col.month_ly": ("去年同月", "Same month last year"),
    "bulletin.col.ytd": ("本年累计", "Year to date"),
    "bulletin.col.ytd_ly": ("去年同期", "Same period last year"),
    "bulletin.col.yoy_month": ("本月同比", "Month YoY"),
    "bulletin.col.yoy_ytd": ("累计同比", "YTD YoY"),
    "bulletin.chart.yoy": (
        "主要警情同比（本年累计）",
        "Headline figures, year to date vs last year",
    ),
    "bulletin.chart.trend": (
        "刑事治安警情月度走势",
        "Criminal and public-order incidents by month",
    ),
    "bulletin.chart.this_year": ("本期12个月", "Last 12 months"),
    "bulletin.chart.last_year": ("上年同期", "The 12 months before"),
    "bulletin.summary_text": (
        "{period}，全区110警情{total}起，同比{total_pct}；刑事治安警情{crime}起，同比{crime_pct}。"
        "本年累计刑事治安警情同比{crime_ytd_pct}，殴打他人同比{assault_ytd_pct}，"
        "电信网络诈骗同比{fraud_ytd_pct}。本期红色预警社区{n_red}个，黄色预警社区{n_yellow}个。",
        "{period}: {total} 110 incidents ({total_pct} year on year), {crime} criminal and "
        "public-order ({crime_pct}). Year to date: criminal and public order {crime_ytd_pct}, "
        "assault {assault_ytd_pct}, telecom fraud {fraud_ytd_pct}. Red communities: {n_red}; "
        "yellow: {n_yellow}.",
    ),
    "bulletin.tasks_text": (
        "{period}前期被预警社区（共{n}个）任务完成情况如下。",
        "Tasks in {period} of the {n} communities warned in earlier bulletins.",
    ),
    "bulletin.footer": (
        "本通报由基础数字方舱根据{period}预警结果（运行编号{run}）生成，发布后内容固定不变。",
        "Generated by Fangcang from the warning run {run} for {period}; frozen when issued.",
    ),
    # what each level asks (the section paragraph; per-community lines are bulletin.req.*)
    "bulletin.action.red": (
        "列为重点整治对象，派出所所长挂点督办，一周内制定整治方案并上报。",
        "Focused work: the station chief takes charge; a plan within one week.",
    ),
    "bulletin.action.yellow": (
        "派出所加强关注，社区民警两周内完成一轮走访排查。",
        "Station attention; the officer completes a round of visits within two weeks.",
    ),
    "bulletin.level.red": ("红色", "Red"),
    "bulletin.level.yellow": ("黄色", "Yellow"),
    "bulletin.level.blue": ("蓝色", "Blue"),
    "bulletin.level.green": ("绿色", "Green"),
}
