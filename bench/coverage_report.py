"""bench/coverage.py's printed report: the four measurements side by side at 1× and 10×, each
against its aim, and the checks."""
import statistics

import coverage_data as data

AIM_ENDPOINT, AIM_JOBS = 1.2, 0.25
AIM_LIST = 1.5  # the office console's visit list: p95(10×)/p95(1×)
LIST_DAYS = ("2025-09-01", "2025-09-30")  # the visit list's "Từ ngày/Đến ngày" filter, timed


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def ms(seconds):
    return f"{seconds * 1000:8.1f}"


def report(ctx, sizes, failures):
    args = ctx["args"]
    one, ten = sizes["1×"]["endpoint"], sizes["10×"]["endpoint"]
    print(f"\n## 1. coverage endpoint: GET /api/v1/coverage?commune={data.FOCUS} as its officer, "
          f"{args.requests} requests per line (interleaved), ms; load average "
          f"{one['load']:.1f} at 1×, {ten['load']:.1f} at 10×")
    print(f"{'period':<34}{'1× p50':>9}{'1× p95':>9}{'10× p50':>9}{'10× p95':>9}  p95 10×/1×")
    for period, shown in ctx["labels"].items():
        a, b = one.get(period), ten.get(period)
        if not a or not b:
            continue
        ratio = b["p95"] / a["p95"]
        aim = ("reported (reads per-day rows)" if period == "range" else
               f"{'meets' if ratio <= AIM_ENDPOINT else 'ABOVE'} the ≤ {AIM_ENDPOINT} aim")
        print(f"{shown:<34}{ms(a['p50']):>9}{ms(a['p95']):>9}{ms(b['p50']):>9}{ms(b['p95']):>9}"
              f"  {ratio:5.2f}  {aim}")
        grown = sorted(b["sql"].items(), key=lambda kv: -kv[1])[:3]
        print("    SQL ms per request, 1× → 10×: " + "; ".join(
            f"{k} {a['sql'].get(k, 0) * 1000:.1f} → {v * 1000:.1f}" for k, v in grown))
    if "month" in ten:
        print(f"figures at 10× ({ctx['labels']['month']}): {ten['month']['figures']}")

    print("\n## 2. aggregates rebuild (whole province, one transaction)")
    print(f"{'size':<6}{'visits':>12}{'lines':>12}{'seconds':>10}{'visits/s':>10}"
          f"{'cov. rows':>12}{'rows/s':>10}{'   data load s':>14}")
    for size, s in sizes.items():
        r = s["rebuild"]
        print(f"{size:<6}{r['visits']:>12,}{r['visit_services']:>12,}{r['seconds']:>10.1f}"
              f"{r['visits'] / r['seconds']:>10,.0f}{r['rows']:>12,}"
              f"{r['rows'] / r['seconds']:>10,.0f}{s['load']:>14.1f}")

    inc = sizes["1×"]["incremental"]
    print(f"\n## 3. incremental refresh while ingesting: {args.pushes} pushes × "
          f"{args.push_visits} fresh visits by the member of hamlet {inc['hamlet']} "
          f"({inc['households']} households), twice: a burst (drains held back during the pushes, "
          f"then the drains the queue holds) and one drain after each push")
    print(f"{'size':<5}{'ingest':<8}{'push s':>8}{'ms p50':>8}{'drains':>7}{'drain s':>9}"
          f"{'ms p50':>8}{'ms p95':>8}  drain/push")
    for size, s in sizes.items():
        inc = s["incremental"]
        for mode, label in (("burst", "burst"), ("each", "each")):
            run = inc[mode]
            share = sum(run["jobs"]) / sum(run["push"])
            print(f"{size:<5}{label:<8}{sum(run['push']):>8.2f}{ms(statistics.median(run['push'])):>8}"
                  f"{len(run['jobs']):>7}{sum(run['jobs']):>9.2f}"
                  f"{ms(statistics.median(run['jobs'])):>8}{ms(percentile(run['jobs'], 0.95)):>8}"
                  f"  {share:7.1%}  {'meets' if share <= AIM_JOBS else 'ABOVE'} the ≤ "
                  f"{AIM_JOBS:.0%} aim")
        print(f"    burst drain SQL {inc['sql_total'] * 1000:.1f} ms, largest: "
              + "; ".join(f"{k} {v * 1000:.1f}" for k, v in inc["sql"])
              + f"; then commune rebuild {inc['commune_rebuild']:.2f}s, "
              f"{inc['compared']:,} rows compared")
    report_list(ctx, sizes)
    print("\nchecks: " + ("all passed (endpoint figures = counts from the visits at 1× and 10×, "
                          "push statuses, drains ran and left nothing pending, incremental rows = fresh "
                          "rebuild, "
                          "visit list pages = the visits a direct query lists)"
                          if not failures else "FAILED"))
    for failure in failures:
        print(f"  - {failure}")


def report_list(ctx, sizes):
    args = ctx["args"]
    one, ten = sizes["1×"]["visits"], sizes["10×"]["visits"]
    hamlet_id, code = ctx["list_hamlet"]
    shown = {"first": "first page (no filter)", "second": "second page (after= of the first)",
             "hamlet": f"hamlet {code}, completed", "state": "review state received",
             "days": "days {}..{}".format(*LIST_DAYS)}
    print(f"\n## 4. office visit list: GET /office/visits signed in as cb.{data.FOCUS} (session "
          f"cookie), {args.requests} requests per line (interleaved), ms; the commune's visits "
          f"{one['visits']:,} at 1×, {ten['visits']:,} at 10×; load average {one['load']:.1f} at "
          f"1×, {ten['load']:.1f} at 10×")
    print(f"{'page':<34}{'1× p50':>9}{'1× p95':>9}{'10× p50':>9}{'10× p95':>9}  p95 10×/1×")
    for page, label in shown.items():
        a, b = one.get(page), ten.get(page)
        if not a or not b:
            continue
        ratio = b["p95"] / a["p95"]
        print(f"{label:<34}{ms(a['p50']):>9}{ms(a['p95']):>9}{ms(b['p50']):>9}{ms(b['p95']):>9}"
              f"  {ratio:5.2f}  {'meets' if ratio <= AIM_LIST else 'ABOVE'} the ≤ {AIM_LIST} aim")
        grown = sorted(b["sql"].items(), key=lambda kv: -kv[1])[:3]
        print("    SQL ms per request, 1× → 10×: " + "; ".join(
            f"{k} {a['sql'].get(k, 0) * 1000:.1f} → {v * 1000:.1f}" for k, v in grown))
