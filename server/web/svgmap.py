"""A small map drawn on the server: a hamlet's boundary and GPS points as SVG path data.

No tiles and no script: the page inlines the SVG (styled by classes in office.css, so the
Content-Security-Policy needs no inline styles). Longitude is scaled by cos(latitude), which is
exact enough at the size of a hamlet.
"""
import math
from dataclasses import dataclass

from geoalchemy2.shape import to_shape

SIZE = 320  # the drawing's width and height in SVG units
MARGIN = 12


@dataclass
class Marker:
    """A point on the map: ``x``/``y`` in SVG units, and whether it lies outside the boundary."""

    x: float
    y: float
    outside: bool
    label: str


@dataclass
class SvgMap:
    """What the template draws."""

    size: int
    path: str  # the boundary (empty when the hamlet has none)
    markers: list


def draw(boundary, points):
    """``boundary`` (a geometry column value or None) and ``points`` ``[(geometry, label)]``."""
    shape = to_shape(boundary) if boundary is not None else None
    spots = [(to_shape(g), label) for g, label in points if g is not None]
    xs = [p.x for p, _ in spots]
    ys = [p.y for p, _ in spots]
    if shape is not None:
        minx, miny, maxx, maxy = shape.bounds
        xs += [minx, maxx]
        ys += [miny, maxy]
    if not xs:
        return None
    lat0 = math.radians((min(ys) + max(ys)) / 2)
    kx = math.cos(lat0)
    width = max((max(xs) - min(xs)) * kx, (max(ys) - min(ys)), 1e-5)
    scale = (SIZE - 2 * MARGIN) / width
    x0, y1 = min(xs), max(ys)

    def project(x, y):
        return round(MARGIN + (x - x0) * kx * scale, 1), round(MARGIN + (y1 - y) * scale, 1)

    path = ""
    if shape is not None:
        rings = []
        for polygon in getattr(shape, "geoms", [shape]):
            for ring in [polygon.exterior, *polygon.interiors]:
                coords = [project(x, y) for x, y in ring.coords]
                rings.append("M" + " L".join(f"{x},{y}" for x, y in coords) + " Z")
        path = " ".join(rings)
    markers = []
    for point, label in spots:
        x, y = project(point.x, point.y)
        outside = shape is not None and not shape.covers(point)
        markers.append(Marker(x, y, outside, label))
    return SvgMap(SIZE, path, markers)
