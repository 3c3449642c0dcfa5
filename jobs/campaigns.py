"""Campaign jobs: a new or changed campaign's figures filled from the compact coverage rows."""
from jobs import job, job_log
from server.services import aggregates


@job
def refresh_campaign(campaign_id):
    """Recompute one campaign's per-hamlet rows over its (new) period; safe to run twice."""
    job_log("refreshing campaign %s", campaign_id)
    aggregates.refresh_campaign(campaign_id)
