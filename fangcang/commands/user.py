"""``user add|disable|enable|reset|unlock|list``: local accounts (for admins on the server).

Passwords are read from ``--password-stdin`` or asked for interactively (never echoed), so they
do not end up in the shell history. Every change is audited as ``cli:<os user>``.
"""

from __future__ import annotations

import getpass
import sys

from sqlalchemy.orm import Session

from fangcang import auth, db
from fangcang.access import Role
from fangcang.cli import cli_actor


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("repeat: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _session() -> Session:
    engine = db.make_engine()
    db.upgrade(engine)
    return Session(engine, expire_on_commit=False)


def _add(args) -> int:
    with _session() as s:
        user = auth.create_user(
            s,
            username=args.username,
            password=_password(args),
            role=args.role,
            actor=cli_actor(),
            display_name=args.name or "",
            station_id=args.station,
            officer_id=args.officer,
            branch=args.branch,
        )
        s.commit()
        print(f"added {user.username} ({user.role.value})")
    return 0


def _disable(args) -> int:
    with _session() as s:
        auth.set_disabled(s, args.username, True, actor=cli_actor())
        s.commit()
    print(f"disabled {args.username}")
    return 0


def _enable(args) -> int:
    with _session() as s:
        auth.set_disabled(s, args.username, False, actor=cli_actor())
        s.commit()
    print(f"enabled {args.username}")
    return 0


def _reset(args) -> int:
    with _session() as s:
        auth.reset_password(s, args.username, _password(args), actor=cli_actor())
        s.commit()
    print(f"password reset for {args.username} (failures, lock and open sessions cleared)")
    return 0


def _unlock(args) -> int:
    with _session() as s:
        auth.unlock(s, args.username, actor=cli_actor())
        s.commit()
    print(f"unlocked {args.username}")
    return 0


def _signout(args) -> int:
    with _session() as s:
        ended = auth.end_sessions(s, args.username, actor=cli_actor())
        s.commit()
    print(f"ended {ended} open session(s) of {args.username}")
    return 0


def _list(args) -> int:
    with _session() as s:
        users = auth.list_users(s)
    if not users:
        print("no users")
        return 0
    print(f"{'username':<20} {'role':<11} {'scope':<22} {'state':<22} last login")
    for u in users:
        scope = u.station_id or u.officer_id or u.branch or "district"
        state = (
            "disabled"
            if u.disabled
            else (f"locked to {u.locked_until:%m-%d %H:%M}" if u.locked_until else "active")
        )
        last = f"{u.last_login:%Y-%m-%d %H:%M}" if u.last_login else "-"
        print(f"{u.username:<20} {u.role.value:<11} {scope:<22} {state:<22} {last}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("user", help="manage sign-in accounts")
    usub = p.add_subparsers(dest="user_command", required=True)
    a = usub.add_parser("add", help="add a local account")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=[r.value for r in Role])
    a.add_argument("--name", help="display name")
    a.add_argument("--station", help="station_id (role station)")
    a.add_argument("--officer", help="officer_id (role officer)")
    a.add_argument("--branch", help="branch (role branch), e.g. public_order")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    a.set_defaults(func=_add)
    for name, fn, help_ in (
        ("disable", _disable, "disable an account (signs it out)"),
        ("enable", _enable, "re-enable a disabled account"),
        ("unlock", _unlock, "lift a lockout"),
        ("signout", _signout, "end every open session of an account (a lost phone)"),
    ):
        c = usub.add_parser(name, help=help_)
        c.add_argument("username")
        c.set_defaults(func=fn)
    r = usub.add_parser(
        "reset", help="set a new password, clear the lockout, end every open session"
    )
    r.add_argument("username")
    r.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    r.set_defaults(func=_reset)
    usub.add_parser("list", help="list accounts").set_defaults(func=_list)
