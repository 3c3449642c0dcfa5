"""Coverage refresh jobs."""
import logging

from jobs import job, job_log
from server.extensions import db
from server.services import aggregates, approvals, coverage_queue

log = logging.getLogger("jobs")


@job
def drain_coverage(commune_id=None):
    """Bring the coverage rows up to date for every record pushes left pending
    (``coverage_queue``), of every commune; safe to run twice, or with nothing pending. Jobs
    queued before the drain became province-wide carry a commune id, now unused."""
    coverage_queue.drain_started()
    communes, changed = aggregates.drain()
    job_log("drained coverage of %d communes: %s", len(communes),
            "rows changed" if changed else "nothing changed")
    if changed:
        try:  # approved months these changes altered become stale; never fails the drain
            approvals.check_communes(communes)
        except Exception:  # noqa: BLE001 - the console checks again whenever it shows a month
            db.session.rollback()
            log.exception("checking approved months after a drain failed")


@job
def refresh_coverage(touched):
    """Update the coverage rows of what one push touched (``{"visits", "households",
    "residents"}``: id lists); jobs queued before the coverage queue (0010) still carry these."""
    job_log("refreshing coverage: %s", {k: len(v) for k, v in touched.items()})
    aggregates.refresh(touched.get("visits", ()), touched.get("households", ()),
                       touched.get("residents", ()))
    approvals.check_touched(touched)  # approved months these changes altered become stale


@job
def refresh_hamlet_aggregates(hamlet_ids):
    """Recompute whole hamlets (jobs queued before the coverage upgrade still carry these)."""
    job_log("rebuilding coverage of %d hamlets", len(hamlet_ids))
    aggregates.rebuild_hamlets(hamlet_ids)
