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
    from server.services import api_keys

    try:
        click.echo(api_keys.create_key(province_code, label)[1])
    except ApiError as err:
        _fail(err)


@apikeys_cli.command("list")
@click.option("--province", "province_code", help="2-digit province code")
def apikeys_list(province_code):
    """List keys: id, province, prefix, label, created, last used, revoked."""
    from server.services import api_keys

    try:
        keys = api_keys.list_keys(province_code)
    except ApiError as err:
        _fail(err)
    for key in keys:
        stamp = lambda t: t.isoformat(timespec="seconds") if t else "-"  # noqa: E731
        click.echo(f"{key.id}\t{key.province.code}\t{key.prefix}…\t{key.label or '-'}\t"
                   f"created {stamp(key.created_at)}\tused {stamp(key.last_used_at)}\t"
                   f"revoked {stamp(key.revoked_at)}")


@apikeys_cli.command("revoke")
@click.argument("key_id", type=int)
def apikeys_revoke(key_id):
    """Revoke a key at once (by the id `apikeys list` shows)."""
    from server.services import api_keys

    try:
        key = api_keys.revoke_key(key_id)
    except ApiError as err:
        _fail(err)
    click.echo(f"revoked key {key.id} ({key.prefix}…)")


units_cli = AppGroup("units", help="Administrative units.")


@units_cli.command("load-communes")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--province", "province_code", required=True, help="2-digit province code")
@click.option("--province-name", help="create the province with this name if it is missing")
def units_load_communes(path, province_code, province_name):
    """Load a province's communes (code, name, boundary) from a GeoJSON file; idempotent."""
    from server.services import commune_boundaries

    try:
        counts = commune_boundaries.load_file(path, province_code, province_name)
    except ApiError as err:
        _fail(err)
    click.echo("communes: {created} created, {updated} updated, {unchanged} unchanged"
               .format(**counts))


photos_cli = AppGroup("photos", help="Photo processing.")
aggregates_cli = AppGroup("aggregates", help="Per-hamlet figures.")


@aggregates_cli.command("rebuild")
@click.option("--commune", "commune_code", help="5-digit commune code (default: every commune)")
def aggregates_rebuild(commune_code):
    """Recompute every coverage row (day, month, campaign) from the visits, in SQL."""
    from server.services import aggregates

    try:
        count = aggregates.rebuild(commune_code)
    except ApiError as err:
        _fail(err)
    click.echo(f"aggregates: rebuilt {count} hamlets")


@aggregates_cli.command("drain")
def aggregates_drain():
    """Drain now every commune whose pushes left coverage work pending (after a lost job)."""
    from server.services import aggregates

    communes = aggregates.drain_pending()
    click.echo(f"aggregates: drained {len(communes)} communes")


@photos_cli.command("sweep")
def photos_sweep():
    """Re-enqueue photos whose processing is overdue; delete originals nothing waits for."""
    from server.services import photos

    counts = photos.sweep_stale()
    click.echo("photos: {requeued} re-enqueued, {originals_removed} stale originals removed"
               .format(**counts))


sync_cli = AppGroup("sync", help="Field sync housekeeping.")


@sync_cli.command("prune-exits")
@click.option("--days", type=click.IntRange(1), default=None,
              help="keep this many days (default: SCOPE_EXIT_RETENTION_DAYS)")
def sync_prune_exits(days):
    """Forget old deletion notices; phones that never pulled them start over from scratch."""
    from flask import current_app

    from server.services import scope_exits

    days = days or current_app.config["SCOPE_EXIT_RETENTION_DAYS"]
    click.echo(f"sync: {scope_exits.prune(days)} deletion notices older than {days} days pruned")


def _recover_quietly():
    """Take back from the database the work whose job was lost (a worker killed mid-job, a Redis
    restarted without persistence): overdue photos are re-enqueued and every commune with
    pending coverage rows is drained; old deletion notices are pruned. Never lets a failure stop
    the worker."""
    import logging

    from flask import current_app

    from jobs.aggregates import drain_coverage
    from server.extensions import db
    from server.services import coverage_queue, photos, scope_exits

    log = logging.getLogger("jobs")
    counts, communes, pruned = None, None, None
    try:
        counts = photos.sweep_stale()
    except Exception:  # noqa: BLE001 - the next maintenance tick tries again
        db.session.rollback()
        log.exception("photo sweep failed")
    try:
        pruned = scope_exits.prune(current_app.config["SCOPE_EXIT_RETENTION_DAYS"])
    except Exception:  # noqa: BLE001 - the next maintenance tick tries again
        db.session.rollback()
        log.exception("pruning deletion notices failed")
    try:
        # What the lost job would have done (approved months included). A drain of rows whose
        # job is still queued is harmless: that job then finds nothing.
        communes = coverage_queue.pending_communes()
        if communes:
            drain_coverage()
    except Exception:  # noqa: BLE001 - the next maintenance tick tries again
        db.session.rollback()
        log.exception("coverage drain failed")
    finally:
        # Job processes are forked from this one: they must not inherit open connections.
        db.session.remove()
        db.engine.dispose()
    log.info("maintenance: photo sweep %s, coverage drained in %s communes, %s deletion notices "
             "pruned", counts, None if communes is None else len(communes), pruned)


def _recovering_worker_class():
    from rq import Worker

    class RecoveringWorker(Worker):
        """An rq worker whose maintenance (at start, then every ``maintenance_interval``) also
        recovers lost photo and coverage work from the database."""

        def run_maintenance_tasks(self):
            super().run_maintenance_tasks()
            _recover_quietly()

    return RecoveringWorker


@click.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Exit once the queues are empty.")
@click.option("--maintenance-seconds", type=click.IntRange(1), default=600, show_default=True,
              help="How often to clean rq's registries and recover lost work.")
def worker(queues, burst, maintenance_seconds):
    """Run an rq worker (queues: photos aggregates default) that also recovers lost work."""
    import logging

    from rq.defaults import DEFAULT_WORKER_TTL

    from server.services.queue import QUEUES, redis_connection

    connection = redis_connection()
    if connection is None:
        raise click.ClickException("REDIS_URL is not set: jobs run in-process, no worker needed")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("jobs").setLevel(logging.INFO)
    worker_class = _recovering_worker_class()
    # The worker waits for a job at most worker_ttl - 15 s between maintenance checks.
    ttl = min(DEFAULT_WORKER_TTL, maintenance_seconds + 15)
    worker_class(list(queues or QUEUES), connection=connection, worker_ttl=ttl,
                 maintenance_interval=maintenance_seconds).work(
        burst=burst, with_scheduler=True)  # the scheduler runs rq's delayed retries


def register_cli(app):
    """Attach the commands to ``app``."""
    app.cli.add_command(seed_demo)
    app.cli.add_command(users_cli)
    app.cli.add_command(apikeys_cli)
    app.cli.add_command(units_cli)
    app.cli.add_command(photos_cli)
    app.cli.add_command(aggregates_cli)
    app.cli.add_command(sync_cli)
    app.cli.add_command(worker)
