// Nhập sổ hộ: poll unfinished imports; show progress, the summary and the error report link.
(function () {
  'use strict';
  var LABELS = { queued: 'Đang chờ', running: 'Đang nhập', done: 'Xong', failed: 'Lỗi' };
  var INTERVAL_MS = 1000;

  function update(row, status) {
    row.setAttribute('data-state', status.state);
    var bar = row.querySelector('progress');
    if (bar) { bar.value = status.progress; bar.textContent = status.progress + '%'; }
    row.querySelector('.task-state').textContent = LABELS[status.state] || status.state;
    var summary = row.querySelector('.task-summary');
    if (status.state === 'failed') {
      summary.textContent = status.error || 'Không nhập được tệp.';
      summary.className = 'task-summary error';
    } else {
      summary.textContent = status.summary || '';
    }
    var cell = row.querySelector('.task-report');
    if (status.state === 'done') {
      if (status.report && !cell.querySelector('a')) {
        cell.textContent = '';
        var link = document.createElement('a');
        link.href = status.report;
        link.className = 'download';
        link.textContent = 'Tải báo cáo lỗi (CSV)';
        cell.appendChild(link);
      } else if (!status.report) {
        cell.textContent = 'Không có dòng lỗi';
      }
    }
  }

  function poll(row) {
    fetch(row.getAttribute('data-status'), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (status) {
        update(row, status);
        if (status.state === 'queued' || status.state === 'running') {
          window.setTimeout(function () { poll(row); }, INTERVAL_MS);
        }
      })
      .catch(function () { window.setTimeout(function () { poll(row); }, INTERVAL_MS * 5); });
  }

  document.querySelectorAll('tr.import-task').forEach(function (row) {
    var state = row.getAttribute('data-state');
    if (state === 'queued' || state === 'running') poll(row);
  });
})();
