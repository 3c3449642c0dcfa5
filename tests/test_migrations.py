"""The Alembic migrations build the whole schema from an empty database on the current engine."""
import os
import uuid
from contextlib import contextmanager

import pytest
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from geoalchemy2 import Geometry
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import Column, Integer, String, Table, func, inspect, select, text

from server import create_app
from server.database import Base
from server.extensions import db
from server.models import ChangeCounter, Commune, Hamlet, Province, Service
from tests.conftest import ENGINE, PG_URL, _config

CATALOGUE = {"VNEID", "CKS", "DVCTT", "TMDT", "TTKDTM", "ATTT", "VSSID", "SSKDT", "APPTINH",
             "KYNANGSO", "THIETBI", "KHAC"}
SPATIAL_COLUMNS = sorted(
    (table.name, column.name)
    for table in Base.metadata.tables.values() for column in table.columns
    if isinstance(column.type, Geometry)
)


@contextmanager
def empty_database(directory):
    """A database with nothing in it: a new SpatiaLite file, or a new PostgreSQL database."""
    if ENGINE == "sqlite":
        yield f"sqlite:///{directory / f'empty-{uuid.uuid4().hex[:8]}.db'}"
        return
    import psycopg

    base, _, _ = PG_URL.rpartition("/")
    name = f"cnscd_migrations_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def app_on(url, media_root):
    """An app bound to ``url`` with its context pushed; the engine is disposed afterwards."""
    app = create_app(_config(url, media_root))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def _model_tables_present():
    return set(Base.metadata.tables) & set(inspect(db.engine).get_table_names())


def _head_revisions():
    config = current_app.extensions["migrate"].migrate.get_config()
    return set(ScriptDirectory.from_config(config).get_heads())


def _add_square_hamlet(x0, y0, size=0.01):
    province = Province(code="99", name="Tỉnh thử", settings={})
    db.session.add(province)
    db.session.flush()
    square = MultiPolygon([box(x0, y0, x0 + size, y0 + size)])
    commune = Commune(province_id=province.id, code="99001", name="Xã thử",
                      boundary=from_shape(square, srid=4326))
    db.session.add(commune)
    db.session.flush()
    hamlet = Hamlet(commune_id=commune.id, code="99001-001", name="Ấp thử",
                    boundary=from_shape(square, srid=4326))
    db.session.add(hamlet)
    db.session.commit()
    return hamlet.id


def _point(lon, lat):
    return func.ST_GeomFromText(f"POINT({lon} {lat})", 4326)


def _hamlets_containing(lon, lat):
    return list(db.session.scalars(
        select(Hamlet.id).where(func.ST_Contains(Hamlet.boundary, _point(lon, lat)))))


def _spatial_registrations():
    """``(table, column) -> srid, spatially indexed`` as the engine's spatial catalogue sees it."""
    if ENGINE == "sqlite":
        rows = db.session.execute(text(
            "SELECT f_table_name, f_geometry_column, srid, spatial_index_enabled "
            "FROM geometry_columns")).all()
        return {(t.lower(), c.lower()): (srid, enabled == 1) for t, c, srid, enabled in rows}
    rows = db.session.execute(text(
        "SELECT f_table_name, f_geometry_column, srid FROM geometry_columns "
        "WHERE f_table_schema = 'public'")).all()
    gist = {name for name, in db.session.execute(text(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
        "AND indexdef ILIKE '%USING gist%'"))}
    return {(t, c): (srid, f"idx_{t}_{c}" in gist) for t, c, srid in rows}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, media_root):
    """A database upgraded from empty to head by this module (not the session's template)."""
    with empty_database(tmp_path_factory.mktemp("migrations")) as url:
        with app_on(url, media_root) as app:
            assert not _model_tables_present()
            upgrade()
            db.session.remove()
        yield url


@pytest.fixture
def migrated_app(migrated, media_root):
    with app_on(migrated, media_root) as app:
        yield app


def test_upgrade_from_empty_creates_every_model_table(migrated_app):
    assert _model_tables_present() == set(Base.metadata.tables)


def test_upgrade_from_empty_reaches_the_head_revision(migrated_app):
    stamped = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    assert stamped == _head_revisions()


def test_upgrade_seeds_the_service_catalogue(migrated_app):
    codes = set(db.session.scalars(select(Service.code).where(Service.active)))
    assert codes == CATALOGUE


def test_catalogue_lists_the_digital_signature_providers(migrated_app):
    cks = db.session.get(Service, "CKS")
    assert {"VNPT", "Viettel", "FPT", "MISA", "BKAV"} <= set(cks.providers)
    assert db.session.get(Service, "VNEID").providers == []


def test_catalogue_change_counter_covers_every_service(migrated_app):
    counter = db.session.get(ChangeCounter, "catalogue")
    highest = db.session.scalar(select(func.max(Service.change_seq)))
    assert counter is not None and counter.value == highest
    assert db.session.scalar(select(func.count(func.distinct(Service.change_seq)))) == 12


def test_model_has_the_expected_spatial_columns():
    assert ("hamlets", "boundary") in SPATIAL_COLUMNS
    assert ("households", "location") in SPATIAL_COLUMNS


def test_every_geometry_column_is_registered_with_a_spatial_index(migrated_app):
    registered = _spatial_registrations()
    for column in SPATIAL_COLUMNS:
        assert registered.get(column) == (4326, True), column


def test_hamlet_boundary_answers_spatial_predicates(migrated_app):
    hamlet_id = _add_square_hamlet(107.0, 10.9)
    try:
        assert _hamlets_containing(107.005, 10.905) == [hamlet_id]
        assert _hamlets_containing(107.02, 10.905) == []
        within = db.session.scalars(select(Hamlet.id).where(
            func.ST_Within(_point(107.001, 10.909), Hamlet.boundary)))
        assert list(within) == [hamlet_id]
    finally:
        db.session.rollback()
        for model in (Hamlet, Commune, Province):
            db.session.query(model).delete()
        db.session.commit()


def test_models_and_migrations_do_not_drift(migrated_app):
    result = migrated_app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_drift_check_notices_a_table_missing_from_the_migrations(migrated_app):
    probe = Table("drift_probe", Base.metadata, Column("id", Integer, primary_key=True))
    try:
        result = migrated_app.test_cli_runner().invoke(args=["db", "check"])
    finally:
        Base.metadata.remove(probe)
    assert result.exit_code != 0
    assert "drift_probe" in result.output


def test_drift_check_notices_a_changed_column_type(migrated_app, monkeypatch):
    column = Base.metadata.tables["users"].c.username
    monkeypatch.setattr(column, "type", String(81))
    result = migrated_app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code != 0
    assert "username" in result.output


def test_downgrade_to_base_then_upgrade_again(tmp_path, media_root):
    with empty_database(tmp_path) as url, app_on(url, media_root):
        upgrade()
        db.session.remove()
        downgrade(revision="base")
        assert not _model_tables_present()
        assert list(db.session.scalars(text("SELECT version_num FROM alembic_version"))) == []
        db.session.remove()

        upgrade()

        assert _model_tables_present() == set(Base.metadata.tables)
        assert set(db.session.scalars(select(Service.code))) == CATALOGUE
        assert _spatial_registrations()[("hamlets", "boundary")] == (4326, True)
        hamlet_id = _add_square_hamlet(106.5, 10.5)
        assert _hamlets_containing(106.505, 10.505) == [hamlet_id]
        if ENGINE == "sqlite":
            assert db.session.scalar(text("SELECT CheckSpatialIndex('hamlets', 'boundary')")) == 1
