"""Coverage refresh jobs."""
from jobs import job, job_log
from server.services import aggregates, approvals


@job
def refresh_coverage(touched):
    """Update the coverage rows of what one push touched (``{"visits", "households",
    "residents"}``: id lists); safe to run twice and in any order."""
    job_log("refreshing coverage: %s", {k: len(v) for k, v in touched.items()})
    aggregates.refresh(touched.get("visits", ()), touched.get("households", ()),
                       touched.get("residents", ()))
    approvals.check_touched(touched)  # approved months these changes altered become stale


@job
def refresh_hamlet_aggregates(hamlet_ids):
    """Recompute whole hamlets (jobs queued before the coverage upgrade still carry these)."""
    job_log("rebuilding coverage of %d hamlets", len(hamlet_ids))
    aggregates.rebuild_hamlets(hamlet_ids)
