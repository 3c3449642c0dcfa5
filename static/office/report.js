// Báo cáo: poll the status of unfinished report tasks and show the download link when ready.
(function () {
  'use strict';
  var LABELS = { queued: 'Đang chờ', running: 'Đang tạo', done: 'Xong', failed: 'Lỗi' };
  var INTERVAL_MS = 1000;

  function update(row, status) {
    row.setAttribute('data-state', status.state);
    var bar = row.querySelector('progress');
    if (bar) { bar.value = status.progress; bar.textContent = status.progress + '%'; }
    row.querySelector('.task-state').textContent = LABELS[status.state] || status.state;
    var cell = row.querySelector('.task-file');
    if (status.state === 'done' && status.download && !cell.querySelector('a')) {
      cell.textContent = '';
      var link = document.createElement('a');
      link.href = status.download;
      link.className = 'download';
      link.textContent = 'Tải tệp Excel';
      cell.appendChild(link);
    } else if (status.state === 'failed') {
      cell.textContent = 'Không tạo được tệp. Vui lòng thử lại.';
      cell.className = 'task-file error';
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

  document.querySelectorAll('tr.report-task').forEach(function (row) {
    var state = row.getAttribute('data-state');
    if (state === 'queued' || state === 'running') poll(row);
  });
})();
