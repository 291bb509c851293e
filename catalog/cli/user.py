"""``cardiofair user`` and ``cardiofair token``: maintainers and API tokens."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    user = sub.add_parser(
        "user",
        help="create and list maintainers",
        description="Users act for one organisation as admin or maintainer.",
        epilog="examples:\n"
        "  cardiofair user add ana@cardio-lab.example --org cardio-lab "
        "--name 'Ana Ruiz' --role admin\n"
        "  cardiofair user list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = user.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create a user")
    add.add_argument("email")
    add.add_argument("--org", required=True, help="organisation slug")
    add.add_argument("--name", default="")
    add.add_argument("--role", default="maintainer", choices=["admin", "maintainer"])
    add.add_argument("--orcid", help="ORCID iD, e.g. 0000-0002-1825-0097")
    add.set_defaults(func=add_user)
    ls = actions.add_parser("list", help="list users")
    ls.set_defaults(func=list_users)

    token = sub.add_parser(
        "token",
        help="issue and revoke API tokens",
        description="A token is shown once, stored hashed, scoped to the user's "
        "organisation, and revocable.",
        epilog="examples:\n"
        "  cardiofair token create ana@cardio-lab.example --name laptop\n"
        "  cardiofair token list\n"
        "  cardiofair token revoke 3f9a1c0b2d4e",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="issue a token (printed once)")
    create.add_argument("email")
    create.add_argument("--name", default="")
    create.set_defaults(func=create_token)
    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id", help="the 12-character id shown by 'token list'")
    revoke.set_defaults(func=revoke_token)
    ls = actions.add_parser("list", help="list tokens (ids only, never secrets)")
    ls.set_defaults(func=list_tokens)


def _find_user(session, email: str):
    from sqlalchemy import select

    from catalog.cli import CliError
    from catalog.db.models import User

    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        raise CliError(f"user {email!r} does not exist; create it with 'user add'")
    return user


def add_user(args: argparse.Namespace) -> int:
    from catalog.auth import InvalidInput, audit, create_user, get_organization
    from catalog.cli import CliError
    from catalog.cli._common import session_scope

    if args.orcid:
        from catalog.auth import check_orcid

        try:
            check_orcid(args.orcid)
        except InvalidInput as exc:
            raise CliError(str(exc)) from None
    try:
        with session_scope() as session:
            org = get_organization(session, args.org)
            user = create_user(session, args.email, args.name, org, args.role)
            user.orcid = args.orcid
            audit(session, "cli", "user.create", "user", user.id, role=args.role)
    except InvalidInput as exc:
        raise CliError(str(exc)) from None
    print(f"user {args.email} ({args.role}) created in {args.org}")
    return 0


def list_users(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from catalog.cli._common import session_scope
    from catalog.db.models import User

    with session_scope() as session:
        for user in session.scalars(select(User).order_by(User.email)):
            print(f"{user.email}\t{user.role}\t{user.organization.slug}")
    return 0


def create_token(args: argparse.Namespace) -> int:
    from catalog.auth import audit, issue_token
    from catalog.cli._common import session_scope

    with session_scope() as session:
        user = _find_user(session, args.email)
        row, secret = issue_token(session, user, args.name)
        audit(session, user.email, "token.create", "token", row.lookup)
    print(secret)
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    from catalog.auth import InvalidInput, audit
    from catalog.auth import revoke_token as revoke
    from catalog.cli import CliError
    from catalog.cli._common import session_scope

    try:
        with session_scope() as session:
            row = revoke(session, args.token_id)
            audit(session, "cli", "token.revoke", "token", row.lookup)
    except InvalidInput as exc:
        raise CliError(str(exc)) from None
    print(f"token {args.token_id} revoked")
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from catalog.cli._common import session_scope
    from catalog.db.models import ApiToken

    with session_scope() as session:
        for row in session.scalars(select(ApiToken).order_by(ApiToken.created_at)):
            state = "revoked" if row.revoked_at else "active"
            print(f"{row.lookup}\t{row.user.email}\t{row.name}\t{state}")
    return 0
