"""A hamlet drawn among its commune on the server, as SVG path data (no tiles, no script).

The admin sees at a glance where an uploaded boundary sits: the commune's outline, the other
hamlets, and this one highlighted. Longitude is scaled by cos(latitude), as in ``svgmap``.
"""
import math
from dataclasses import dataclass

from geoalchemy2.shape import to_shape

SIZE = 360
MARGIN = 8


@dataclass
class Layer:
    """One shape: its path data, CSS class and label."""

    path: str
    css: str
    label: str


def _rings(shape):
    for polygon in getattr(shape, "geoms", [shape]):
        yield from (polygon.exterior, *polygon.interiors)


def draw(layers):
    """``layers``: ``[(geometry column value or None, css class, label)]``; None when empty."""
    shapes = [(to_shape(g), css, label) for g, css, label in layers if g is not None]
    if not shapes:
        return None
    bounds = [s.bounds for s, _, _ in shapes]
    minx, miny = min(b[0] for b in bounds), min(b[1] for b in bounds)
    maxx, maxy = max(b[2] for b in bounds), max(b[3] for b in bounds)
    kx = math.cos(math.radians((miny + maxy) / 2))
    scale = (SIZE - 2 * MARGIN) / max((maxx - minx) * kx, maxy - miny, 1e-5)

    def point(x, y):
        return f"{MARGIN + (x - minx) * kx * scale:.1f},{MARGIN + (maxy - y) * scale:.1f}"

    drawn = []
    for shape, css, label in shapes:
        path = " ".join("M" + " L".join(point(x, y) for x, y, *_ in ring.coords) + " Z"
                        for ring in _rings(shape))
        drawn.append(Layer(path, css, label))
    return {"size": SIZE, "layers": drawn}
