"""Command-line operations: ``flask --app wsgi <command>``."""
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from server.errors import ApiError

users_cli = AppGroup("users", help="Manage user accounts.")
apikeys_cli = AppGroup("apikeys", help="Manage province API keys.")


def _fail(err):
    lines = [err.message] + [f"  {k}: {', '.join(map(str, v))}" for k, v in err.fields.items()]
    raise click.ClickException("\n".join(lines))


@click.command("seed-demo")
def seed_demo():
    """Load the demo province, commune, hamlets, teams, households and users (idempotent)."""
    from server.services import demo

    summary = demo.seed(current_app.config["DEMO_PASSWORD"])
    click.echo(
        "demo: commune {commune} with {hamlets} hamlets, {households} households, "
        "{residents} residents; users: {users}".format(**summary)
    )


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, help="member, team_lead, commune_officer, "
              "province_analyst or admin")
@click.option("--commune", "commune_code", help="5-digit commune code")
@click.option("--team", "team_id", type=int, help="team id (members and team leads)")
@click.option("--province", "province_code", help="2-digit province code (province analysts)")
@click.option("--display-name", help="name shown in the apps")
def users_create(username, role, commune_code, team_id, province_code, display_name):
    """Create a user; the password is read from standard input."""
    from server.services import accounts

    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(username, password, role, commune_code=commune_code,
                                    team_id=team_id, display_name=display_name,
                                    province_code=province_code)
    except ApiError as err:
        _fail(err)
    click.echo(f"created user {user.username} (id {user.id}, role {user.role})")


@apikeys_cli.command("create")
@click.option("--province", "province_code", required=True, help="2-digit province code")
@click.option("--label", default="", help="who the key is for")
def apikeys_create(province_code, label):
    """Create a province API key and print it once."""
    from server.services import accounts

    try:
        click.echo(accounts.create_api_key(province_code, label))
    except ApiError as err:
        _fail(err)


def register_cli(app):
    """Attach the commands to ``app``."""
    app.cli.add_command(seed_demo)
    app.cli.add_command(users_cli)
    app.cli.add_command(apikeys_cli)
