"""Pull for the field app at hamlet scale: each page says about how many changes are left (the
first pull's progress bar), and a hamlet comes with its boundary as small GeoJSON (the map)."""
from geoalchemy2.shape import to_shape

from tests.factories import login
from tests.sync_helpers import household, push, resident


def _pages(client, headers, limit):
    pages, cursor = [], None
    while True:
        resp = client.get("/api/v1/sync/pull", query_string={"limit": limit, **({"cursor": cursor} if cursor else {})},
                          headers=headers)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        pages.append(body)
        cursor = body["cursor"]
        if not body["more"]:
            return pages


def test_each_page_says_how_many_changes_are_left(client, world):
    headers = login(client, world.users["member"])
    items = []
    for _ in range(12):
        hh = household(world.hamlets[0].id)
        items += [hh, resident(hh["id"])]
    push(client, headers, items)
    pages = _pages(client, headers, limit=7)
    total = sum(len(p["changes"]) for p in pages)
    seen = 0
    for page in pages:
        seen += len(page["changes"])
        # Exactly what the later pages hold here (no scope exits to skip).
        assert page["remaining"] == total - seen
    assert pages[-1]["remaining"] == 0 and len(pages) >= 4


def test_hamlet_carries_its_boundary_as_simplified_geojson(client, world):
    headers = login(client, world.users["member"])
    (page,) = _pages(client, headers, limit=500)
    (hamlet,) = [c["data"] for c in page["changes"] if c["type"] == "hamlet"]
    boundary = hamlet["boundary"]
    assert boundary["type"] == "MultiPolygon"
    ring = boundary["coordinates"][0][0]
    stored = to_shape(world.hamlets[0].boundary)
    minx, miny, maxx, maxy = stored.bounds
    assert ring[0] == ring[-1] and len(ring) >= 4
    for lon, lat in ring:  # lon, lat order, within the stored shape's box, 5 decimals at most
        assert minx - 1e-5 <= lon <= maxx + 1e-5 and miny - 1e-5 <= lat <= maxy + 1e-5
        assert round(lon, 5) == lon and round(lat, 5) == lat


def test_hamlet_boundary_is_small_even_for_a_detailed_shape(app, client, world):
    """A boundary traced with thousands of points reaches the phone with far fewer."""
    import math

    from geoalchemy2.shape import from_shape
    from shapely.geometry import MultiPolygon, Polygon

    from server.extensions import db

    hamlet = world.hamlets[0]
    cx, cy = to_shape(hamlet.boundary).centroid.coords[0]
    # A wobbly circle of 4,000 points, about 500 m across, with 1 m wiggles.
    points = [(cx + 0.0045 * math.cos(t) + 0.000005 * math.sin(40 * t), cy + 0.0045 * math.sin(t))
              for t in (2 * math.pi * i / 4000 for i in range(4000))]
    hamlet.boundary = from_shape(MultiPolygon([Polygon(points)]), srid=4326)
    db.session.commit()
    headers = login(client, world.users["member"])
    (page,) = _pages(client, headers, limit=500)
    (data,) = [c["data"] for c in page["changes"] if c["type"] == "hamlet"]
    ring = data["boundary"]["coordinates"][0][0]
    assert 16 <= len(ring) <= 400, len(ring)
