"""Labels for the demo district: first-start build messages and the demo's incident subtypes
(the reserved ones, assault / telecom_fraud / theft, are labelled in ``core``)."""

STRINGS: dict[str, tuple[str, str]] = {
    "demo.build_intro": (
        "数据库为空：正在生成鹿城区演示数据（{size}）。基础数据导入后即打开登录页，"
        "预警、任务、通报和走访数据随后在后台补充。",
        "The database is empty: building the Lucheng demo district ({size}). The sign-in "
        "page opens once the base records are in; warnings, tasks, bulletins and visits then "
        "fill in in the background.",
    ),
    # The demo's size by FANGCANG_DEMO_SCALE (fangcang.demo.story.SCALES).
    "demo.size.small": ("小规模试用数据，约1.3万条记录", "a small trial set, about 13,000 records"),
    "demo.size.medium": (
        "十分之一规模，约38万条记录",
        "one tenth of the real size, about 380,000 records",
    ),
    "demo.size.full": ("全量，约380万条记录", "full size, about 3.8 million records"),
    "demo.build_progress": (
        "{phase}：{percent}%（已用 {seconds} 秒）",
        "{phase}: {percent}% ({seconds} s so far)",
    ),
    "demo.build_background": (
        "生成在服务器的后台进程中进行：关闭此页面不会中断，其他访问者看到同样的进度。",
        "The build runs in a background process on the server: closing this tab does not "
        "stop it, and other visitors see the same progress.",
    ),
    "demo.filling": (
        "演示数据补充中 · {phase} {percent}%",
        "Demo data filling in · {phase} {percent}%",
    ),
    "demo.phase.generate": ("生成演示数据", "Generating the demo records"),
    "demo.phase.import": ("导入基础数据", "Importing the base records"),
    "demo.phase.accounts": ("创建演示账号", "Creating the demo accounts"),
    "demo.phase.warning": ("计算靶向预警", "Computing the warnings"),
    "demo.phase.tasks": ("生成任务", "Generating tasks"),
    "demo.phase.effect": ("生成通报与成效", "Generating bulletins and effect"),
    "demo.phase.visits": ("生成云入户走访", "Generating household visits"),
    "demo.phase.more": ("补充其他演示数据", "Filling in further demo data"),
    "demo.build_wait": (
        "另一个会话正在生成演示数据，请稍候…",
        "Another session is building the demo district; please wait ...",
    ),
    "demo.build_done": (
        "演示数据已生成：{records} 条记录，用时 {seconds} 秒。",
        "Demo district built: {records} records in {seconds} s.",
    ),
    "demo.build_failed": (
        "演示数据生成失败：{error}（日志编号 {ref}）。服务器重新启动后将再次尝试。",
        "Building the demo district failed: {error} (log reference {ref}). The next server "
        "start tries again.",
    ),
    "demo.build_stopped": (
        "演示数据生成进程意外退出（退出码 {code}），已多次重试。详情见服务器日志；"
        "服务器重新启动后将再次尝试。",
        "The demo build process stopped unexpectedly (exit code {code}) and was restarted "
        "without success. The server log has the details; the next server start tries again.",
    ),
    # Incident subtypes the demo uses (besides the reserved ones in core).
    "incident_subtype.burglary": ("入室盗窃", "Burglary"),
    "incident_subtype.fraud": ("其他诈骗", "Other fraud"),
    "incident_subtype.robbery": ("抢劫抢夺", "Robbery"),
    "incident_subtype.injury": ("故意伤害", "Injury"),
    "incident_subtype.disturbance": ("寻衅滋事", "Disturbance"),
    "incident_subtype.gambling": ("赌博", "Gambling"),
    "incident_subtype.drugs": ("涉毒", "Drugs"),
    "incident_subtype.prostitution": ("卖淫嫖娼", "Prostitution"),
    "incident_subtype.damage": ("故意损毁财物", "Property damage"),
    "incident_subtype.family": ("家庭纠纷", "Family dispute"),
    "incident_subtype.neighbour": ("邻里纠纷", "Neighbour dispute"),
    "incident_subtype.labour": ("劳资纠纷", "Labour dispute"),
    "incident_subtype.consumer": ("消费纠纷", "Consumer dispute"),
    "incident_subtype.accident": ("交通事故", "Traffic accident"),
    "incident_subtype.drunk_driving": ("酒驾醉驾", "Drunk driving"),
    "incident_subtype.violation": ("交通违法", "Traffic violation"),
    "incident_subtype.fire": ("火灾", "Fire"),
    "incident_subtype.medical": ("急病求助", "Medical help"),
    "incident_subtype.lost_person": ("走失寻人", "Missing person"),
    "incident_subtype.lockout": ("开锁求助", "Lockout"),
    "incident_subtype.help": ("其他求助", "Other assistance"),
    "incident_subtype.noise": ("噪音扰民", "Noise"),
    "incident_subtype.other": ("其他", "Other"),
}
