"""Aggregate refresh jobs."""
from jobs import job, job_log
from server.services import aggregates


@job
def refresh_hamlet_aggregates(hamlet_ids):
    """Recompute the monthly figures of the hamlets a push touched (safe to run twice)."""
    job_log("refreshing aggregates of %d hamlets", len(hamlet_ids))
    aggregates.refresh_hamlets(hamlet_ids)
