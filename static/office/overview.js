// Tổng quan: sortable tables, the service column filter, and the hamlet map (Leaflet, no tiles).
// Data comes from the page (data-* attributes) and the session-authenticated GeoJSON route.
// The province page reuses it for its communes: the map element's data-table, data-feature-key
// and data-row-attr name its table and how rows match features (default: the hamlets).
(function () {
  'use strict';

  function cellValue(row, column) {
    var cell = row.children[column];
    if (!cell) return null;
    var raw = cell.getAttribute('data-value');
    if (raw === null) raw = cell.textContent.trim();
    if (raw === '') return null;
    var n = Number(raw);
    return isNaN(n) ? raw : n;
  }

  // Sort a table's body rows by one column; empty cells always last.
  function sortTable(table, column, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, column), y = cellValue(b, column);
      if (x === null && y === null) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      var order = (typeof x === 'number' && typeof y === 'number') ? x - y
        : String(x).localeCompare(String(y), 'vi');
      return descending ? -order : order;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    table.querySelectorAll('th').forEach(function (th) { th.removeAttribute('aria-sort'); });
    var th = table.tHead.rows[0].children[column];
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
  }

  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.tHead.addEventListener('click', function (event) {
      var button = event.target.closest('button.sort');
      if (!button) return;
      var th = button.closest('th');
      var column = Array.prototype.indexOf.call(th.parentNode.children, th);
      var descending = th.getAttribute('aria-sort') === 'ascending';
      sortTable(table, column, descending);
    });
  });

  // Show one service's columns (or all).
  var filter = document.getElementById('service-filter');
  var hamletTable = document.getElementById(
    (filter && filter.getAttribute('data-table')) || 'hamlet-table');
  function applyFilter() {
    var code = filter.value;
    hamletTable.querySelectorAll('[data-service]').forEach(function (el) {
      el.hidden = !!code && el.getAttribute('data-service') !== code;
    });
  }
  if (filter && hamletTable) {
    filter.addEventListener('change', applyFilter);
    applyFilter();
  }

  // The map.
  var mapEl = document.getElementById('hamlet-map') || document.getElementById('unit-map');
  var indicator = document.getElementById('map-indicator');
  var legend = document.getElementById('map-legend');
  if (!mapEl || typeof L === 'undefined') return;
  var unitTable = document.getElementById(mapEl.getAttribute('data-table') || 'hamlet-table');
  var featureKey = mapEl.getAttribute('data-feature-key') || 'hamlet_id';
  var rowAttr = mapEl.getAttribute('data-row-attr') || 'data-hamlet-id';

  var COLOURS = ['#d73027', '#fc8d59', '#fee08b', '#91cf60', '#1a9850'];
  var EMPTY = '#bdbdbd';
  var BREAKS = [0.2, 0.4, 0.6, 0.8];

  function values(key) {
    var out = {};
    if (!unitTable) return out;
    unitTable.querySelectorAll('tbody tr[' + rowAttr + ']').forEach(function (row) {
      var cell = row.querySelector('td[data-key="' + key + '"]');
      var raw = cell ? cell.getAttribute('data-value') : '';
      out[row.getAttribute(rowAttr)] = raw === '' ? null : Number(raw);
    });
    return out;
  }

  function colour(value, isGap) {
    if (value === null || value === undefined || isNaN(value)) return EMPTY;
    var v = isGap ? 1 - Math.min(1, value / 0.5) : value; // a gap of 50 points or more is worst
    var i = 0;
    while (i < BREAKS.length && v >= BREAKS[i]) i += 1;
    return COLOURS[i];
  }

  function percent(v) {
    return v === null || v === undefined ? 'chưa có số liệu'
      : (v * 100).toFixed(1).replace('.', ',') + '%';
  }

  function drawLegend(label, isGap) {
    legend.textContent = '';
    var title = document.createElement('strong');
    title.textContent = label + ': ';
    legend.appendChild(title);
    var stops = isGap
      ? ['≥ 40 điểm %', '30–40', '20–30', '10–20', '< 10 điểm %']
      : ['< 20%', '20–40%', '40–60%', '60–80%', '≥ 80%'];
    COLOURS.forEach(function (c, i) {
      var item = document.createElement('span');
      item.className = 'legend-item';
      var swatch = document.createElement('span');
      swatch.className = 'legend-swatch';
      swatch.style.background = c;
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(stops[i]));
      legend.appendChild(item);
    });
    var none = document.createElement('span');
    none.className = 'legend-item';
    var sw = document.createElement('span');
    sw.className = 'legend-swatch';
    sw.style.background = EMPTY;
    none.appendChild(sw);
    none.appendChild(document.createTextNode('chưa có số liệu'));
    legend.appendChild(none);
  }

  var map = L.map(mapEl, { zoomSnap: 0.25, attributionControl: false, preferCanvas: false });
  var layer = null;

  function restyle() {
    if (!layer) return;
    var key = indicator.value;
    var label = indicator.options[indicator.selectedIndex].text;
    var isGap = /\.gap$/.test(key);
    var data = values(key);
    layer.eachLayer(function (shape) {
      var id = String(shape.feature.properties[featureKey]);
      var v = data[id];
      shape.setStyle({ fillColor: colour(v, isGap), fillOpacity: 0.75, color: '#ffffff', weight: 1 });
      shape.setTooltipContent(shape.feature.properties.name + ': ' + percent(v));
    });
    drawLegend(label, isGap);
  }

  fetch(mapEl.getAttribute('data-geojson'), { credentials: 'same-origin' })
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(function (geojson) {
      layer = L.geoJSON(geojson, {
        onEachFeature: function (feature, shape) {
          shape.bindTooltip(feature.properties.name, { sticky: true });
          shape.on('click', function () {
            var row = unitTable && unitTable.querySelector('tr[' + rowAttr + '="' + feature.properties[featureKey] + '"]');
            if (row) { row.scrollIntoView({ block: 'center' }); row.classList.add('highlight');
              window.setTimeout(function () { row.classList.remove('highlight'); }, 1500); }
          });
        }
      }).addTo(map);
      if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
      mapEl.setAttribute('data-hamlets', String(layer.getLayers().length));
      restyle();
    })
    .catch(function () {
      mapEl.textContent = mapEl.getAttribute('data-error')
        || 'Không tải được ranh giới các ấp. Vui lòng tải lại trang.';
    });

  indicator.addEventListener('change', restyle);
})();
