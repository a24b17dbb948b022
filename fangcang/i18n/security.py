"""Labels for errors, busy database messages and persistent sessions (ui.errors, ui.login)."""

STRINGS = {
    "error.plain": (
        "出现了一个问题，操作未完成。请刷新页面重试；如仍出现，请将参考号 {ref} 告知系统管理员。",
        "Something went wrong and the action was not completed. Reload the page and try again; "
        "if it happens again, give reference {ref} to your administrator.",
    ),
    "error.busy": (
        "系统正忙（可能正在导入数据），本次操作未保存。请稍候片刻再试一次。",
        "The system is busy (probably importing data); this action was not saved. "
        "Please wait a moment and try again.",
    ),
    "login.busy": (
        "系统正忙（可能正在导入数据），暂时无法登录。请稍候片刻再试一次。",
        "The system is busy (probably importing data) and cannot sign you in right now. "
        "Please wait a moment and try again.",
    ),
    "login.ended": (
        "您的登录已在其他窗口或由管理员结束，请重新登录。",
        "Your session was ended in another tab or by an administrator. Please sign in again.",
    ),
    "login.expired": (
        "登录已超过最长有效期，请重新登录。",
        "Your sign-in reached its maximum lifetime. Please sign in again.",
    ),
}
