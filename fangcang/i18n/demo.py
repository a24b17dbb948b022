"""Labels for the demo district: first-start build messages and the demo's incident subtypes
(the reserved ones, assault / telecom_fraud / theft, are labelled in ``core``)."""

STRINGS: dict[str, tuple[str, str]] = {
    "demo.build_intro": (
        "数据库为空：正在生成鹿城区演示数据（约380万条记录，需要几分钟）。生成完成后自动进入登录页。",
        "The database is empty: building the Lucheng demo district (about 3.8 million records, a "
        "few minutes). The sign-in page opens when it is done.",
    ),
    "demo.build_wait": (
        "另一个会话正在生成演示数据，请稍候…",
        "Another session is building the demo district; please wait ...",
    ),
    "demo.build_done": (
        "演示数据已生成：{records} 条记录，用时 {seconds} 秒。",
        "Demo district built: {records} records in {seconds} s.",
    ),
    "demo.build_failed": (
        "演示数据生成失败：{error}",
        "Building the demo district failed: {error}",
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
