"""Presentation mode (汇报模式, pages/present.py)."""

STRINGS = {
    "present.title": ("汇报模式", "Presentation"),
    "present.step": ("第 {i} / {n} 页", "Slide {i} of {n}"),
    "present.prev": ("◀ 上一页", "◀ Previous"),
    "present.next": ("下一页 ▶", "Next ▶"),
    "present.exit": ("退出汇报", "Leave presentation"),
    "present.slide.summary": ("治安态势", "Summary"),
    "present.slide.map": ("一图：社区预警", "Map: community warnings"),
    "present.slide.red": ("红色预警社区", "Red communities"),
    "present.slide.effect": ("重点整治成效", "Effect of focused work"),
    "present.no_red": ("本月没有红色预警社区。", "No red community this month."),
    "present.effect_none": ("暂无重点整治成效评估。", "No evaluation of focused work yet."),
    "present.slide.work": ("红黄社区工作情况", "Work in red and yellow communities"),
    "present.no_data": (
        "还没有警情数据或预警结果：没有可汇报的月份。",
        "No incident data or warning run yet: no month to present.",
    ),
    "present.month": ("汇报月份", "Month"),
    "present.keys": (
        "翻页：← → 方向键、PageUp / PageDown 或翻页笔",
        "Next / previous: ← → keys, PageUp / PageDown or a clicker",
    ),
    "present.work.no_run": (
        "{period}没有已保存的预警结果。",
        "No stored warning run for {period}.",
    ),
    "present.work.none": (
        "{period}没有红色或黄色预警社区。",
        "No red or yellow community in {period}.",
    ),
    "present.work.communities": ("红色 {red} 个 · 黄色 {yellow} 个", "{red} red · {yellow} yellow"),
    "present.work.warned": ("预警社区", "Warned communities"),
    "present.work.items": ("派发任务", "Tasks dispatched"),
    "present.work.done": ("已完成", "Completed"),
    "present.work.rate": ("完成率 {rate}", "{rate} completed"),
    "present.work.overdue": ("逾期未完成", "Overdue"),
    "present.work.window": (
        "任务：{first}至{last}派发给{period}红、黄色预警社区的任务，完成情况截至今天；"
        "整治成效：整治前后各{months}个月与可比社区对比。",
        "Tasks dispatched {first} to {last} to the communities red or yellow in {period}, "
        "completion as of today; effect: {months} months before and after focused work, "
        "against comparison communities.",
    ),
    "present.work.col.community": ("社区", "Community"),
    "present.work.col.level": ("等级", "Level"),
    "present.work.col.items": ("派发", "Dispatched"),
    "present.work.col.done": ("完成", "Done"),
    "present.work.col.rate": ("完成率", "Completion"),
    "present.work.col.overdue": ("逾期", "Overdue"),
    "present.work.col.verdict": ("整治成效", "Focused work"),
    "present.work.no_focus": ("未登记整治", "none registered"),
}
