"""The coverage bench's checks: figures counted straight from the visits (what the endpoint
must answer), the newest visits a list page must show, and the coverage rows of a commune (what
an incremental drain and a rebuild must agree on)."""

COUNTED = ("NOT h.deleted AND v.review_state <> 'rejected' AND v.visited_on BETWEEN %(first)s "
           "AND %(last)s AND m.commune_id = %(commune)s")
DIRECT = {
    "visits": "SELECT count(*) FROM visits v JOIN households h ON h.id = v.household_id "
              "JOIN hamlets m ON m.id = h.hamlet_id WHERE " + COUNTED,
    "households_reached": "SELECT count(DISTINCT v.household_id) FROM visits v "
              "JOIN households h ON h.id = v.household_id JOIN hamlets m ON m.id = h.hamlet_id "
              "WHERE v.outcome IN ('completed', 'partial') AND " + COUNTED,
    "CKS.supported": "SELECT count(DISTINCT l.resident_id) FROM visit_services l "
              "JOIN visits v ON v.id = l.visit_id JOIN households h ON h.id = v.household_id "
              "JOIN residents r ON r.id = l.resident_id JOIN hamlets m ON m.id = r.hamlet_id "
              "WHERE l.service_code = 'CKS' AND l.result = 'done' AND NOT r.deleted AND " + COUNTED,
    "CKS.already_had": "SELECT count(DISTINCT l.resident_id) FROM visit_services l "
              "JOIN visits v ON v.id = l.visit_id JOIN households h ON h.id = v.household_id "
              "JOIN residents r ON r.id = l.resident_id JOIN hamlets m ON m.id = r.hamlet_id "
              "WHERE l.service_code = 'CKS' AND l.result = 'already_had' AND NOT r.deleted AND "
              + COUNTED,
    "TMDT.supported": "SELECT count(DISTINCT v.household_id) FROM visit_services l "
              "JOIN visits v ON v.id = l.visit_id JOIN households h ON h.id = v.household_id "
              "JOIN hamlets m ON m.id = h.hamlet_id "
              "WHERE l.service_code = 'TMDT' AND l.result = 'done' AND " + COUNTED,
    # Adults whose latest CKS line up to the end of ``last`` is done/already_had.
    "CKS.has": "SELECT count(*) FROM (SELECT DISTINCT ON (l.resident_id) l.result "
              "FROM visit_services l JOIN visits v ON v.id = l.visit_id "
              "JOIN households h ON h.id = v.household_id JOIN residents r ON r.id = l.resident_id "
              "JOIN hamlets m ON m.id = r.hamlet_id WHERE l.service_code = 'CKS' "
              "AND NOT r.deleted AND r.birth_year <= %(cutoff)s AND " + COUNTED.replace(
                  "BETWEEN %(first)s AND", "BETWEEN '2000-01-01' AND") +
              " ORDER BY l.resident_id, v.visited_at DESC, v.id DESC, l.id DESC) t "
              "WHERE result IN ('done', 'already_had')",
}


def direct_figures(conn, commune_id, first, last, adult_age=18):
    """The commune's figures counted straight from the visits (what the endpoint must say)."""
    params = {"commune": commune_id, "first": first, "last": last,
              "cutoff": last.year - adult_age}
    return {key: conn.execute(sql, params).fetchone()[0] for key, sql in DIRECT.items()}


def newest_visits(conn, commune_id, where="", params=(), offset=0, limit=50):
    """Ids (``str``) of the commune's visits in the office list's order (newest first, then id)
    matching ``where`` (SQL on ``v``): what a page of ``GET /office/visits`` must list."""
    sql = (f"SELECT v.id FROM visits v JOIN hamlets m ON m.id = v.hamlet_id "
           f"WHERE m.commune_id = %s {where} ORDER BY v.visited_at DESC, v.id DESC "
           f"LIMIT %s OFFSET %s")
    return [str(i) for (i,) in conn.execute(sql, [commune_id, *params, limit, offset])]


def endpoint_figures(body):
    """The same figures from a ``GET /coverage`` answer (the commune's totals)."""
    c = body["commune"]
    return {"visits": c["visits"], "households_reached": c["households_reached"],
            "CKS.supported": c["services"]["CKS"]["supported"],
            "CKS.already_had": c["services"]["CKS"]["already_had"],
            "TMDT.supported": c["services"]["TMDT"]["supported"],
            "CKS.has": c["services"]["CKS"]["has"]}


COVERAGE_TABLES = ("coverage_household_days", "coverage_subject_days", "coverage_days",
                   "coverage_service_days", "coverage_has_months", "hamlet_months",
                   "hamlet_service_months", "coverage_campaign_hamlets",
                   "coverage_campaign_hamlet_services")


def coverage_rows(conn, commune_id):
    """Every coverage row of the commune's hamlets, by table (``refreshed_at`` left out)."""
    rows = {}
    for table in COVERAGE_TABLES:
        columns = [c for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "AND column_name <> 'refreshed_at' ORDER BY ordinal_position", [table])]
        listed = ", ".join(columns)
        rows[table] = conn.execute(
            f"SELECT {listed} FROM {table} WHERE hamlet_id IN "
            f"(SELECT id FROM hamlets WHERE commune_id = %s) ORDER BY {listed}",
            [commune_id]).fetchall()
    return rows


def count_rows(conn, tables):
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
