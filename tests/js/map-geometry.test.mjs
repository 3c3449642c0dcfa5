// The hamlet map's projection and picking (static/app/map-geometry.js).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { distanceM, layout, nearest, SIZE } from '../../static/app/map-geometry.js';

const SQUARE = { type: 'MultiPolygon', coordinates: [[[[107.40, 10.93], [107.41, 10.93], [107.41, 10.94], [107.40, 10.94], [107.40, 10.93]]]] };

describe('layout', () => {
  it('fits the boundary in the drawing with north up and east right', () => {
    const map = layout(SQUARE, [{ id: 'a', lat: 10.935, lon: 107.405 }, { id: 'ne', lat: 10.94, lon: 107.41 }]);
    assert.equal(map.width, SIZE);
    assert.ok(map.path.startsWith('M') && map.path.endsWith('Z'));
    const [centre, ne] = map.dots;
    assert.ok(Math.abs(centre.x - SIZE / 2) < 1 && Math.abs(centre.y - map.height / 2) < 1);
    assert.ok(ne.x > centre.x && ne.y < centre.y); // east is right, north is up
    for (const d of map.dots) assert.ok(d.x >= 0 && d.x <= SIZE && d.y >= 0 && d.y <= map.height);
  });

  it('draws points alone when the hamlet has no boundary, and nothing from nothing', () => {
    const map = layout(null, [{ lat: 10.93, lon: 107.40 }, { lat: 10.931, lon: 107.401 }]);
    assert.equal(map.path, '');
    assert.equal(map.dots.length, 2);
    assert.equal(layout(null, []), null);
    assert.equal(layout({ type: 'Point', coordinates: [1, 2] }, []), null);
  });

  it('keeps one scale both ways (a square stays square)', () => {
    const map = layout(SQUARE, []);
    const sw = map.project(10.93, 107.40);
    const ne = map.project(10.94, 107.41);
    const ratio = (ne.x - sw.x) / (sw.y - ne.y);
    assert.ok(Math.abs(ratio - Math.cos(10.935 * Math.PI / 180)) < 0.01, String(ratio));
  });
});

describe('nearest', () => {
  const dots = [{ id: 1, x: 10, y: 10, visited: true }, { id: 2, x: 20, y: 10 }, { id: 3, x: 100, y: 100 }];
  it('picks the closest dot within reach, optionally of a kind', () => {
    assert.equal(nearest(dots, 12, 11, 8).id, 1);
    assert.equal(nearest(dots, 50, 50, 8), null);
    assert.equal(nearest(dots, 12, 11, Infinity, (d) => !d.visited).id, 2);
  });
  it('measures metres on the ground', () => {
    const d = distanceM({ lat: 10.93, lon: 107.40 }, { lat: 10.94, lon: 107.40 });
    assert.ok(Math.abs(d - 1112) < 5, String(d));
  });
});
