"""What the campaign peak bench runs against: communes with one hamlet and one member per phone,
and the processes of a one-machine deployment (gunicorn and ``flask worker`` processes).

The database and gunicorn come from ``ingest_env`` (the throwaway database, ``spawn_gunicorn``);
the push items from ``ingest_data``.
"""
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ingest_env import HAMLET_NAMES, HAMLET_SIZE, PASSWORD, REPO

FIRST_COMMUNE = 80000  # test and bench communes live above the real codes


@dataclass
class Province:
    """The bench province: hamlet id -> (name, box), and the phones' logins in order."""

    hamlet_info: dict
    phones: list = field(default_factory=list)  # [(username, [hamlet id], commune id)]
    tokens: dict = field(default_factory=dict)  # phone index -> device token
    member_ids: dict = field(default_factory=dict)  # phone index -> user id
    commune_ids: list = field(default_factory=list)
    password: str = PASSWORD


def make_province(phones, per_commune):
    """``phones`` members, ``per_commune`` to a commune; each has its own team and hamlet.

    Communes are rows of square hamlets, one row per commune, so every location the generator
    draws inside a hamlet is inside its commune too.
    """
    from geoalchemy2.shape import from_shape
    from shapely.geometry import MultiPolygon, box

    from server.extensions import db
    from server.models import Commune, Hamlet, Province as ProvinceRow, Team
    from server.services import accounts
    from server.services.changes import ChangeClock, commune_scope

    province_row = ProvinceRow(code="75", name="Đồng Nai", settings={})
    world = Province(hamlet_info={})
    made = 0
    for c in range(-(-phones // per_commune)):
        size = min(per_commune, phones - made)
        lon0, lat0 = 107.0, 10.5 + c * HAMLET_SIZE * 1.5
        code = str(FIRST_COMMUNE + c)
        commune = Commune(province=province_row, code=code, name=f"Xã Thử Tải {c + 1}",
                          boundary=from_shape(MultiPolygon([box(
                              lon0, lat0, lon0 + HAMLET_SIZE * size, lat0 + HAMLET_SIZE)]),
                              srid=4326))
        db.session.add(commune)
        db.session.flush()
        clock = ChangeClock(commune_scope(commune.id))
        hamlets, teams = [], []
        for i in range(size):
            square = (lon0 + HAMLET_SIZE * i, lat0, lon0 + HAMLET_SIZE * (i + 1),
                      lat0 + HAMLET_SIZE)
            hamlet = Hamlet(commune_id=commune.id, code=f"{code}-{i + 1:03d}",
                            name=f"Ấp {HAMLET_NAMES[i % len(HAMLET_NAMES)]} {i + 1}",
                            boundary=from_shape(MultiPolygon([box(*square)]), srid=4326),
                            households_total=300, adults_total=800, change_seq=clock.next())
            team = Team(commune_id=commune.id, name=f"Tổ CNSCĐ số {i + 1}")
            team.hamlets.append(hamlet)
            hamlets.append((hamlet, square))
            teams.append(team)
        db.session.add_all([h for h, _ in hamlets] + teams)
        clock.save()
        db.session.commit()
        world.commune_ids.append(commune.id)
        for (hamlet, square), team in zip(hamlets, teams):
            world.hamlet_info[hamlet.id] = (hamlet.name, square)
            username = f"load.{code}.{hamlet.code[-3:]}"
            user = accounts.create_user(username, PASSWORD, "member", team_id=team.id)
            world.member_ids[made] = user.id
            world.phones.append((username, [hamlet.id], commune.id))
            made += 1
    return world


def sign_in(world):
    """A device token per phone, as if each signed in before the campaign (the server hashes
    passwords with argon2 at 64 MiB: thousands of logins would measure that, not the peak)."""
    from server.services import accounts

    for index, (username, _, _) in enumerate(world.phones):
        world.tokens[index] = accounts.issue_token(username, PASSWORD, device_id(index))[0]


def device_id(index):
    """The device id of phone ``index``."""
    return f"load-phone-{index + 1}"


@dataclass
class Workers:
    """``flask worker`` processes this script started; ``stop`` ends them (and only them)."""

    procs: list
    log: Path

    def stop(self):
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def spawn_workers(count, database_url, redis_url, media):
    """``count`` real rq workers (``flask worker photos aggregates default``), as deployed."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "SECRET_KEY": "bench-secret", "MEDIA_DIR": str(media), "PYTHONPATH": str(REPO)}
    log = Path(media) / "workers.log"
    out = log.open("w")
    procs = [subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "photos", "aggregates",
         "default"], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        for _ in range(count)]
    return Workers(procs, log)


def rebuild_cli(database_url, media):
    """``flask aggregates rebuild`` in its own process, as an operator runs it."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "bench-secret",
           "MEDIA_DIR": str(media), "PYTHONPATH": str(REPO)}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "aggregates",
                           "rebuild"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=1800)
    if done.returncode:
        raise RuntimeError(f"aggregates rebuild failed: {done.stderr[-2000:]}")
    return done.stdout.strip()
