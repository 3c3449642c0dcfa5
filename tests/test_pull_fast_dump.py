"""Pull's households and residents are dumped without marshmallow (schemas/records.py,
``household_data``/``resident_data``): what the phone gets must be what the schemas say."""
import uuid
from datetime import datetime, timezone

from schemas.records import HouseholdOut, ResidentOut, household_data, resident_data
from server.extensions import db
from server.models import Household, Resident
from tests.factories import login
from tests.sync_helpers import household, pull_all, push, resident


def test_pulled_households_and_residents_are_what_their_schemas_dump(client, world):
    headers = login(client, world.users["member"])
    placed = household(world.hamlets[0].id)
    bare = household(world.hamlets[0].id, location=None, phone=None, head_name=None)
    items = [placed, bare, resident(placed["id"]), resident(bare["id"], given=False)]
    code, _ = push(client, headers, items)
    assert code == 200
    changes, _, _ = pull_all(client, headers)
    pulled = {c["id"]: c["data"] for c in changes if c["type"] in ("household", "resident")}
    ids = [uuid.UUID(item["id"]) for item in items]
    rows = list(db.session.scalars(db.select(Household).where(Household.id.in_(ids[:2])))) + list(
        db.session.scalars(db.select(Resident).where(Resident.id.in_(ids[2:]))))
    assert len(rows) == 4 and {str(r.id) for r in rows} == set(pulled)
    # Consent withdrawn and anonymised, as the consent service leaves a resident (not saved).
    gone = rows[-1]
    gone.consent_withdrawn_at = datetime(2025, 10, 2, 1, 2, 3, tzinfo=timezone.utc)
    gone.anonymised, gone.full_name, gone.phone, gone.birth_year = True, None, None, None
    for row in rows:
        schema, fast = ((HouseholdOut(), household_data) if isinstance(row, Household)
                        else (ResidentOut(), resident_data))
        assert fast(row) == schema.dump(row), row.id
        if row is not gone:
            assert pulled[str(row.id)] == schema.dump(row), row.id
    db.session.rollback()
