/**
 * The page's script, served as /app.js. Plain browser JavaScript (ES2020), kept in a string so
 * it ships inside dist/ with the rest of the connector. Every value from a document goes into the
 * page through textContent, never as HTML: a subject such as `<img onerror=…>` stays text.
 * Times are shown in Asia/Ho_Chi_Minh whatever the browser's own zone.
 */
export const PAGE_SCRIPT = String.raw`
'use strict';
(function () {
  var STAGE = { 'sent': 'Đã gửi', 'on-backbone': 'Trên trục', 'arrived': 'Đã đến', 'accepted': 'Đã tiếp nhận', 'assigned': 'Đã phân công',
    'processing': 'Đang xử lý', 'done': 'Hoàn thành', 'rejected': 'Bị từ chối', 'refused': 'Không gửi được', 'cancelled': 'Đã lấy lại' };
  var STEP = { 'taken': 'Nhận từ hệ thống quản lý văn bản', 'refused': 'Không gửi được', 'signed': 'Đã ký số', 'written': 'Đã đưa lên trục',
    'received': 'Đã nhận từ trục', 'verified': 'Đã kiểm tra chữ ký số', 'delivered': 'Đã chuyển vào hệ thống quản lý văn bản',
    'dead-lettered': 'Chuyển vào hàng đợi lỗi', 'status-sent': 'Đã gửi trạng thái', 'replayed': 'Gửi lại từ hàng đợi lỗi' };
  var STATUS = { '01': 'Đã đến', '02': 'Từ chối tiếp nhận', '03': 'Đã tiếp nhận', '04': 'Phân công', '05': 'Đang xử lý', '06': 'Hoàn thành',
    '13': 'Lấy lại', '15': 'Đồng ý', '16': 'Từ chối' };
  var LATE = { 'arrival': 'Quá hạn đến', 'acceptance': 'Quá hạn tiếp nhận', 'completion': 'Quá hạn xử lý' };
  var DIRECTION = { 'outbound': 'Đi', 'inbound': 'Đến' };
  var RESULT = { 'valid': 'hợp lệ', 'accepted-unsigned': 'chấp nhận không chữ ký', 'not-checked': 'không kiểm tra' };
  var PAGE = 50;
  var time = new Intl.DateTimeFormat('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  var state = { offset: 0, total: 0, selected: null, refreshSeconds: 15, timer: null };
  var $ = function (id) { return document.getElementById(id); };

  function fmt(ms) {
    if (ms === undefined || ms === null) return '';
    var p = {}; time.formatToParts(new Date(ms)).forEach(function (x) { p[x.type] = x.value; });
    return p.day + '/' + p.month + '/' + p.year + ' ' + p.hour + ':' + p.minute + ':' + p.second;
  }
  function fmtDate(iso) { if (!iso) return ''; var p = iso.split('-'); return p[2] + '/' + p[1] + '/' + p[0]; }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; }
  function badge(text, cls) { return el('span', text, 'badge' + (cls ? ' ' + cls : '')); }

  function api(path) {
    return fetch(path, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } }).then(function (r) {
      if (r.status === 401) { window.location.href = '/login'; throw new Error('401'); }
      if (!r.ok) return r.json().then(function (b) { throw new Error(b.error || r.statusText); });
      return r.json();
    });
  }

  function query() {
    var p = new URLSearchParams();
    [['direction', 'f-direction'], ['counterpart', 'f-counterpart'], ['stage', 'f-stage'], ['from', 'f-from'], ['to', 'f-to'], ['q', 'f-q']].forEach(function (pair) {
      var v = $(pair[1]).value; if (v) p.set(pair[0], v);
    });
    if ($('f-overdue').checked) p.set('overdue', '1');
    p.set('offset', String(state.offset)); p.set('limit', String(PAGE));
    return p.toString();
  }

  function partyName(p) { return p.name ? p.name + ' (' + p.organId + ')' : p.organId; }

  function renderList(page) {
    state.total = page.total;
    var body = document.querySelector('#documents tbody');
    body.replaceChildren();
    page.items.forEach(function (d) {
      var tr = document.createElement('tr');
      tr.dataset.documentId = d.documentId;
      if (d.documentId === state.selected) tr.className = 'selected';
      tr.appendChild(el('td', d.code || d.documentId));
      tr.appendChild(el('td', d.subject || '', 'subject'));
      tr.appendChild(el('td', DIRECTION[d.direction]));
      var who = el('td'); d.parties.forEach(function (p, i) { if (i) who.appendChild(document.createElement('br')); who.appendChild(document.createTextNode(partyName(p))); });
      tr.appendChild(who);
      var st = el('td');
      d.parties.forEach(function (p) { st.appendChild(badge(STAGE[p.stage] || p.stage, p.stage)); });
      d.overdue.forEach(function (m) { st.appendChild(badge(LATE[m.stage] + ' · ' + m.counterpart, 'overdue')); });
      tr.appendChild(st);
      tr.appendChild(el('td', fmtDate(d.dueDate)));
      tr.appendChild(el('td', fmt(d.lastAt)));
      tr.addEventListener('click', function () { select(d.documentId); });
      body.appendChild(tr);
    });
    $('empty').hidden = page.items.length > 0;
    var pages = Math.max(1, Math.ceil(page.total / PAGE));
    $('page').textContent = 'Trang ' + (Math.floor(state.offset / PAGE) + 1) + ' / ' + pages + ' · ' + page.total + ' văn bản';
    $('prev').disabled = state.offset === 0;
    $('next').disabled = state.offset + PAGE >= page.total;
  }

  function evidenceText(s) {
    var e = s.evidence || {}; var parts = [];
    if (e.placement) parts.push(e.placement.topic + ' · phân vùng ' + e.placement.partition + ' · offset ' + e.placement.offset);
    if (e.source && typeof e.source === 'string') parts.push('nguồn ' + e.source + (e.item ? ' · ' + e.item : ''));
    if (e.certificate) parts.push('chứng thư ' + e.certificate.subject + ' · số hiệu ' + (e.certificate.serialNumber || '?') + ' · SHA-256 ' + e.certificate.fingerprint);
    if (e.result) parts.push('kết quả ' + (RESULT[e.result] || e.result) + (e.policy ? ' · chính sách ' + e.policy : ''));
    if (e.signer) parts.push('người ký ' + e.signer.subject + ' · số hiệu ' + (e.signer.serialNumber || '?') + ' · SHA-256 ' + e.signer.fingerprint);
    if (e.sinks) parts.push('tới ' + e.sinks.join(', '));
    if (e.reason) parts.push('lý do ' + e.reason + (e.detail ? ': ' + e.detail : ''));
    if (e.description) parts.push(e.description);
    if (e.deadLetter) parts.push('thư lỗi ' + e.deadLetter);
    return parts.join(' — ');
  }

  function renderTimeline(d) {
    $('timeline').hidden = false;
    $('t-title').textContent = (d.code ? d.code + ' — ' : '') + (d.subject || d.documentId);
    var meta = $('t-meta'); meta.replaceChildren();
    function row(k, v) { if (v === undefined || v === null || v === '') return; meta.appendChild(el('dt', k)); meta.appendChild(el('dd', v)); }
    row('Mã văn bản', d.documentId);
    row('Chiều', d.direction === 'outbound' ? 'Văn bản đi' : 'Văn bản đến');
    row('Hạn xử lý', fmtDate(d.dueDate));
    d.parties.forEach(function (p) {
      var late = d.overdue.filter(function (m) { return m.counterpart === p.organId; }).map(function (m) { return LATE[m.stage] + ' (hạn ' + fmt(m.dueAt) + ')'; });
      row(partyName(p), (STAGE[p.stage] || p.stage) + (late.length ? ' · ' + late.join(', ') : ''));
    });
    var list = $('t-steps'); list.replaceChildren();
    d.steps.forEach(function (s) {
      var li = el('li');
      li.appendChild(el('div', fmt(s.at), 'when'));
      var what = STEP[s.step] || s.step;
      if (s.statusCode) what += ' ' + s.statusCode + ' (' + (STATUS[s.statusCode] || '') + ')';
      if (s.step === 'received' && s.statusCode) what = 'Nhận trạng thái ' + s.statusCode + ' (' + (STATUS[s.statusCode] || '') + ')';
      if (s.step === 'delivered' && s.statusCode) what = 'Đã chuyển trạng thái ' + s.statusCode + ' (' + (STATUS[s.statusCode] || '') + ') vào hệ thống quản lý văn bản';
      if (s.step === 'written' && s.statusCode) what = 'Đã gửi trạng thái ' + s.statusCode + ' (' + (STATUS[s.statusCode] || '') + ') lên trục';
      if (s.counterpart) what += ' · ' + s.counterpart;
      li.appendChild(el('div', what, 'what'));
      var ev = evidenceText(s); if (ev) li.appendChild(el('div', ev, 'evidence'));
      list.appendChild(li);
    });
    if (d.overdue.length) {
      var li2 = el('li', null, 'late');
      li2.appendChild(el('div', 'Quá hạn', 'what'));
      li2.appendChild(el('div', d.overdue.map(function (m) { return LATE[m.stage] + ' · ' + m.counterpart + ' · hạn ' + fmt(m.dueAt); }).join('; '), 'evidence'));
      list.appendChild(li2);
    }
  }

  function select(id) {
    state.selected = id;
    document.querySelectorAll('#documents tbody tr').forEach(function (tr) { tr.className = tr.dataset.documentId === id ? 'selected' : ''; });
    return api('/api/documents/' + encodeURIComponent(id)).then(renderTimeline);
  }

  function refresh() {
    return api('/api/documents?' + query()).then(function (page) {
      renderList(page);
      $('refreshed').textContent = 'Cập nhật lúc ' + fmt(Date.now());
      if (state.selected) return select(state.selected).catch(function () {});
    }).catch(function (err) { $('refreshed').textContent = 'Không tải được: ' + err.message; });
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(function () { refresh().then(schedule, schedule); }, state.refreshSeconds * 1000);
  }

  function restart() { state.offset = 0; refresh(); schedule(); }

  api('/api/meta').then(function (meta) {
    $('agency').textContent = '— ' + (meta.organName ? meta.organName + ' (' + meta.organId + ')' : meta.organId);
    state.refreshSeconds = meta.refreshSeconds;
    var cp = $('f-counterpart');
    meta.counterparts.forEach(function (c) { var o = el('option', c); o.value = c; cp.appendChild(o); });
    var st = $('f-stage');
    Object.keys(STAGE).forEach(function (k) { var o = el('option', STAGE[k]); o.value = k; st.appendChild(o); });
    if (!meta.usesToken) $('logout-form').hidden = true;
  }).then(restart);

  ['f-direction', 'f-counterpart', 'f-stage', 'f-from', 'f-to', 'f-overdue'].forEach(function (id) { $(id).addEventListener('change', restart); });
  var typing; $('f-q').addEventListener('input', function () { clearTimeout(typing); typing = setTimeout(restart, 300); });
  $('prev').addEventListener('click', function () { state.offset = Math.max(0, state.offset - PAGE); refresh(); });
  $('next').addEventListener('click', function () { if (state.offset + PAGE < state.total) { state.offset += PAGE; refresh(); } });
  $('t-close').addEventListener('click', function () { state.selected = null; $('timeline').hidden = true; refresh(); });
})();
`;
