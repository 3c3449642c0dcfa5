"""Storing one chunk of checked registry rows in one transaction.

The chunk takes the commune's change clock first (as a push does), so phones' pushes and the
import queue behind each other and every record written gets a change sequence phones pull.
Then it reads what it needs of the chunk's records — ids, versions, fingerprints, never whole
rows — and decides each row in order:

- a record the file names for the first time is created (version 1);
- a record whose content equals the row is left alone (re-importing creates nothing);
- a record an import wrote and nobody changed since (its version is still the one that import
  left, per ``registry_imported``) is updated to the row;
- anything else — edited, moved, merged or erased on the phones or in the office since — is
  skipped and reported: an import never overwrites a newer edit.
"""
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update

from server.extensions import db
from server.models import Household, Resident
from server.models.imports import RegistryImported
from server.services import coverage_queue
from server.services.changes import ChangeClock, commune_scope
from server.services.records import (content_hash, household_columns, resident_columns,
                                     resident_data_as_stored)
from server.services.registry_rows import resident_id


@dataclass
class Stored:
    """What a chunk knows of a stored household or resident."""

    hamlet_id: int
    household_id: uuid.UUID | None
    version: int
    digest: str
    deleted: bool
    consent_given: bool = False
    consent_at: object = None


@dataclass
class Written:
    """A ``registry_imported`` row: which task and row last wrote the record, at which version."""

    task_id: uuid.UUID
    row_number: int
    outcome: str
    version: int


class Outcome(Exception):
    """A row (or its household/person part) not imported: ``kind`` is ``error`` or ``skip``."""

    def __init__(self, kind, column, text):
        super().__init__(text)
        self.kind, self.column, self.text = kind, column, text


SKIP_EDITED = ("{what} đã được sửa trên ứng dụng hoặc ở trang quản lý sau lần nhập trước "
               "(phiên bản {version}); không ghi đè")
SKIP_DELETED = "{what} đã bị xóa hoặc gộp vào hộ khác trên hệ thống; không nhập lại"
SKIP_FOREIGN = "{what} có trên hệ thống nhưng không do nhập sổ tạo ra; không ghi đè"


class Chunk:
    """Decides and writes one chunk of rows for an import run (``run``: registry_import.Run)."""

    def __init__(self, run, rows):
        self.run, self.rows = run, rows
        self.clock = ChangeClock(commune_scope(run.commune_id))
        self.now = run.now()
        household_ids = {r.household_id for r in rows if r.household_id and not r.problems}
        resident_ids = {resident_id(r.household_id, r.stt) for r in rows
                        if r.resident is not None and r.stt is not None and not r.problems}
        self.households = {row.id: Stored(row.hamlet_id, None, row.version, row.content_sha256,
                                          row.deleted)
                           for row in db.session.execute(
                               select(Household.id, Household.hamlet_id, Household.version,
                                      Household.content_sha256, Household.deleted)
                               .where(Household.id.in_(household_ids)))} if household_ids else {}
        self.residents = {row.id: Stored(row.hamlet_id, row.household_id, row.version,
                                         row.content_sha256, row.deleted, row.consent_given,
                                         row.consent_at)
                          for row in db.session.execute(
                              select(Resident.id, Resident.hamlet_id, Resident.household_id,
                                     Resident.version, Resident.content_sha256, Resident.deleted,
                                     Resident.consent_given, Resident.consent_at)
                              .where(Resident.id.in_(resident_ids)))} if resident_ids else {}
        ids = household_ids | resident_ids
        self.written = {row.record_id: Written(row.task_id, row.row_number, row.outcome,
                                               row.version)
                        for row in db.session.execute(
                            select(RegistryImported.record_id, RegistryImported.task_id,
                                   RegistryImported.row_number, RegistryImported.outcome,
                                   RegistryImported.version)
                            .where(RegistryImported.record_id.in_(ids)))} if ids else {}
        self.new = {Household: [], Resident: [], RegistryImported: []}
        self.changed = {Household: [], Resident: [], RegistryImported: []}
        self.touched = {"households": [], "residents": []}  # updated: coverage may move

    # --- deciding ------------------------------------------------------------------------

    def apply(self):
        """Decide every row, write the chunk and commit; returns the coverage refresh's ids."""
        for row in self.rows:
            if row.problems:
                self.run.reject(row)
                continue
            try:
                skipped = self._row(row)
            except Outcome as outcome:
                self.run.report(row, outcome.kind, outcome.column, outcome.text)
                self.run.count("rows_with_errors" if outcome.kind == "error" else "rows_skipped")
                continue
            self.run.count("rows_skipped" if skipped else "rows_imported")
        self._write()
        return self.touched

    def _row(self, row):
        """Store what the row says; True when a part was skipped (and reported)."""
        skipped = False
        if row.household is not None:
            try:
                self._household(row)
            except Outcome as outcome:
                if outcome.kind == "error" or row.resident is None:
                    raise
                self.run.report(row, outcome.kind, outcome.column, outcome.text)
                skipped = True
        if row.resident is not None:
            self._resident(row)
        return skipped

    def _decide(self, kind, record_id, row, stored, digest, what):
        """``create``, ``update``, ``unchanged`` or ``retry`` for a record; Outcome otherwise."""
        if stored is None:
            return "create"
        written = self.written.get(record_id)
        if written is not None and written.task_id == self.run.task_id \
                and written.row_number == row.number:
            return "retry"  # this very row, stored by an earlier attempt of this job
        if stored.deleted:
            raise Outcome("skip", "ma_ho" if kind == "household" else "stt",
                          SKIP_DELETED.format(what=what))
        if stored.digest == digest:
            return "unchanged"
        if written is None:
            raise Outcome("skip", "", SKIP_FOREIGN.format(what=what))
        if written.task_id == self.run.task_id:
            column, label = ("ma_ho", f"Mã hộ “{row.key}”") if kind == "household" else \
                ("stt", f"STT {row.stt} của hộ “{row.key}”")
            raise Outcome("error", column, f"{label} đã có ở dòng {written.row_number} với "
                                           "thông tin khác")
        if stored.version != written.version:
            raise Outcome("skip", "", SKIP_EDITED.format(what=what, version=stored.version))
        return "update"

    def _household(self, row):
        record_id, data = row.household_id, row.household
        digest = content_hash(data)
        stored = self.households.get(record_id)
        if stored is not None and stored.hamlet_id != self.run.hamlet_id and not stored.deleted:
            raise Outcome("skip", "", "Hộ đã được chuyển sang ấp khác trên ứng dụng; không ghi đè")
        decision = self._decide("household", record_id, row, stored, digest, "Hộ")
        values = household_columns(data)
        if decision == "create":
            seq = self.clock.next()
            self.new[Household].append({
                "id": record_id, **values, "version": 1, "content_sha256": digest,
                "deleted": False, "merged_into_id": None, "change_seq": seq,
                "created_by_id": self.run.user_id, "created_at": self.now,
                "updated_at": self.now})
            self.households[record_id] = Stored(self.run.hamlet_id, None, 1, digest, False)
            self._remember(record_id, "household", row, "created", 1)
        elif decision == "update":
            stored.version += 1
            stored.digest = digest
            self.changed[Household].append({
                "id": record_id, **values, "version": stored.version, "content_sha256": digest,
                "change_seq": self.clock.next(), "updated_at": self.now})
            self.touched["households"].append(str(record_id))
            self._remember(record_id, "household", row, "updated", stored.version)
        elif decision == "unchanged":
            self._remember(record_id, "household", row, "unchanged", stored.version)
        self.run.count(f"households_{self._counted(record_id, decision)}")

    def _resident(self, row):
        household = self.households.get(row.household_id)
        if household is None:
            raise Outcome("error", "ma_ho",
                          f"Chưa có hộ mã “{row.key}”: cần một dòng có thông tin hộ (chủ hộ, "
                          "địa chỉ…) ở trên hoặc cùng dòng")
        if household.deleted:
            raise Outcome("skip", "ma_ho", SKIP_DELETED.format(what="Hộ"))
        if household.hamlet_id != self.run.hamlet_id:
            raise Outcome("skip", "", "Hộ đã được chuyển sang ấp khác trên ứng dụng; không nhập "
                                      "người của hộ")
        record_id = resident_id(row.household_id, row.stt)
        stored = self.residents.get(record_id)
        data = row.resident
        if not row.consent_dated and stored is not None and stored.consent_at is not None:
            # An undated consent is the upload's time: keep the first upload's, or every
            # re-import of the same file would look like an edit.
            data = dict(data, consent=dict(data["consent"], at=stored.consent_at))
        stored_data = resident_data_as_stored(data)
        digest = content_hash(stored_data)
        if stored is not None and not stored.deleted and stored.household_id != row.household_id:
            raise Outcome("skip", "stt", "Người này đã được chuyển sang hộ khác trên ứng dụng; "
                                         "không ghi đè")
        decision = self._decide("resident", record_id, row, stored, digest, "Người này")
        given = stored_data["consent"]["given"]
        if decision == "update" and stored.consent_given and not given:
            # A withdrawal also erases copies of the name elsewhere (consent.erase_personal_data):
            # the phone records it, where the person speaks to the team.
            raise Outcome("skip", "dong_y", "Người này đã đồng ý trước đây; việc rút lại đồng ý "
                                            "phải ghi nhận trên ứng dụng của Tổ")
        values = resident_columns(stored_data)
        if decision == "create":
            self.new[Resident].append({
                "id": record_id, "hamlet_id": household.hamlet_id, **values, "version": 1,
                "content_sha256": digest, "deleted": False, "consent_withdrawn_at": None,
                "change_seq": self.clock.next(), "created_by_id": self.run.user_id,
                "created_at": self.now, "updated_at": self.now})
            self.residents[record_id] = Stored(household.hamlet_id, row.household_id, 1, digest,
                                               False, given, values["consent_at"])
            self._remember(record_id, "resident", row, "created", 1)
            if not given:
                self.run.count("residents_without_consent")
        elif decision == "update":
            stored.version += 1
            stored.digest, stored.consent_given = digest, given
            self.changed[Resident].append({
                "id": record_id, **values, "version": stored.version, "content_sha256": digest,
                "change_seq": self.clock.next(), "updated_at": self.now})
            self.touched["residents"].append(str(record_id))
            self._remember(record_id, "resident", row, "updated", stored.version)
        elif decision == "unchanged":
            self._remember(record_id, "resident", row, "unchanged", stored.version)
        self.run.count(f"residents_{self._counted(record_id, decision)}")

    def _counted(self, record_id, decision):
        return self.written[record_id].outcome if decision == "retry" else \
            {"create": "created", "update": "updated", "unchanged": "unchanged"}[decision]

    def _remember(self, record_id, kind, row, outcome, version):
        """Note in ``registry_imported`` that this task's row wrote (or confirmed) the record.

        An unchanged record is claimed too, unless this task already claimed it: a later row of
        the same file with other content is then a duplicate key, not an update.
        """
        written = self.written.get(record_id)
        if written is not None and written.task_id == self.run.task_id:
            return
        values = {"record_id": record_id, "task_id": self.run.task_id, "row_number": row.number,
                  "outcome": outcome, "version": version}
        (self.new if written is None else self.changed)[RegistryImported].append(
            dict(values, kind=kind) if written is None else values)
        self.written[record_id] = Written(self.run.task_id, row.number, outcome, version)

    # --- writing -------------------------------------------------------------------------

    def _write(self):
        for model in (Household, Resident, RegistryImported):  # foreign keys first
            if self.new[model]:
                db.session.execute(model.__table__.insert(), self.new[model])
        for model in (Household, Resident, RegistryImported):
            if self.changed[model]:
                db.session.execute(update(model), self.changed[model])
        if self.touched["households"] or self.touched["residents"]:
            # Committed with the chunk, as a push's are: the commune's next drain finds them.
            coverage_queue.record(self.run.commune_id, households=self.touched["households"],
                                  residents=self.touched["residents"])
        self.clock.save()
        db.session.commit()
