"""bench/coverage.py's office console measurement: the commune officer signed in as a browser
is, the visit list's pages timed at each size and checked against a direct query."""
import html
import os
import re
import statistics
import time

import psycopg

import coverage_checks as checks
import coverage_data as data
from coverage_data import Statements
from coverage_report import LIST_DAYS, percentile

perf = time.perf_counter


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_VISIT_LINK = re.compile(r'href="/office/visits/([0-9a-f-]{36})"')
_NEXT_LINK = re.compile(r'<a href="([^"]+)">Trang sau')


def office_sign_in(app, username):
    """A test client signed in to the office console as a browser is: the sign-in page's CSRF
    token posted back with the credentials; the session cookie stays in the client."""
    client = app.test_client()
    page = client.get("/office/login")
    token = _CSRF.search(page.get_data(as_text=True))
    if page.status_code != 200 or not token:
        raise SystemExit(f"/office/login: {page.status_code}, no CSRF token" if not token
                         else f"/office/login: {page.status_code}")
    resp = client.post("/office/login", data={"username": username, "password": data.PASSWORD,
                                               "csrf_token": token.group(1), "next": ""})
    if resp.status_code != 302:
        raise SystemExit(f"office sign-in {username}: {resp.status_code}")
    return client


def list_pages(ctx, first_body):
    """``{page: (url, SQL condition on v, its parameters, offset)}`` of the timed list pages;
    the second page's URL is the first page's "Trang sau" link (keyset ``after=``)."""
    from server.services.review import PAGE_SIZE

    hamlet_id = ctx["list_hamlet"][0]
    found = _NEXT_LINK.search(first_body)
    pages = {"first": ("/office/visits", "", (), 0)}
    if found:
        pages["second"] = (html.unescape(found.group(1)), "", (), PAGE_SIZE)
    pages["hamlet"] = (f"/office/visits?hamlet={hamlet_id}&outcome=completed",
                       "AND v.hamlet_id = %s AND v.outcome = 'completed'", (hamlet_id,), 0)
    pages["state"] = ("/office/visits?review_state=received",
                      "AND v.review_state = 'received'", (), 0)
    first, last = LIST_DAYS
    pages["days"] = (f"/office/visits?first={first}&last={last}",
                     "AND v.visited_on BETWEEN %s AND %s", LIST_DAYS, 0)
    return pages


def visit_list(ctx, label, failures):
    """Time the office console's visit list pages as the commune officer (requests interleaved,
    3 warm-up rounds); then SQL per request by statement; check each page lists exactly the
    visits a direct query puts there."""
    from server.extensions import db
    from server.services.review import PAGE_SIZE

    client, requests = ctx["office"], ctx["args"].requests
    first = client.get("/office/visits")
    pages = list_pages(ctx, first.get_data(as_text=True))
    if "second" not in pages:
        failures.append(f"{label} visit list: no next-page link on the first page "
                        f"(HTTP {first.status_code})")
    times, answers = {p: [] for p in pages}, {}
    for round_ in range(requests + 3):
        for page, (url, *_) in pages.items():
            started = perf()
            resp = client.get(url)
            if round_ >= 3:
                times[page].append(perf() - started)
            answers[page] = resp
    with ctx["app"].app_context():
        engine = db.engine
    results = {}
    with psycopg.connect(ctx["url"]) as conn:
        total = conn.execute("SELECT count(*) FROM visits v JOIN hamlets m ON m.id = v.hamlet_id "
                             "WHERE m.commune_id = %s", [ctx["commune_id"]]).fetchone()[0]
        for page, (url, where, params, offset) in pages.items():
            resp = answers[page]
            listed = _VISIT_LINK.findall(resp.get_data(as_text=True))
            want = checks.newest_visits(conn, ctx["commune_id"], where, params, offset, PAGE_SIZE)
            if resp.status_code != 200 or not listed:
                failures.append(f"{label} visit list {page} ({url}): HTTP {resp.status_code}, "
                                f"{len(listed)} visits listed")
                continue
            if listed != want:
                failures.append(f"{label} visit list {page} ({url}): {len(listed)} visits listed, "
                                f"{len(set(listed) - set(want))} not among the {len(want)} "
                                f"expected, or in another order")
            per = max(3, requests // 5)
            with Statements(engine) as stats:  # no app context held: each request its own
                for _ in range(per):
                    client.get(url)
            results[page] = {"p50": statistics.median(times[page]),
                             "p95": percentile(times[page], 0.95), "listed": len(listed),
                             "sql": dict(stats.top(per, count=len(stats.totals))), "url": url}
    results["load"], results["visits"] = os.getloadavg()[0], total
    return results
