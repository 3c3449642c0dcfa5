// Office console: small progressive enhancements; every page works without this file.
(function () {
  'use strict';

  // A form sent once: disable its submit buttons so a double click does not post twice.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form.method.toLowerCase() !== 'post') return;
    window.setTimeout(function () {
      form.querySelectorAll('button[type=submit]').forEach(function (b) { b.disabled = true; });
    }, 0);
  });

  // Rows of the visits table open the visit (the time cell keeps the real link).
  document.querySelectorAll('table.grid tbody tr').forEach(function (row) {
    var link = row.querySelector('a[href*="/office/visits/"]');
    if (!link) return;
    row.classList.add('clickable');
    row.addEventListener('click', function (event) {
      if (event.target.closest('a, button, input, select, textarea')) return;
      window.location.href = link.href;
    });
  });
})();
