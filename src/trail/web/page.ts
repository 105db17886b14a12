/**
 * The page's HTML and CSS: Vietnamese, self-contained (no CDN, no web fonts: the system's fonts
 * with Vietnamese coverage), and without inline scripts or styles, so the Content-Security-Policy
 * can forbid both. Everything taken from documents is put into the page as text by ./page-script.ts.
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function loginPage(message?: string): string {
  return `<!doctype html>
<html lang="vi">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Đăng nhập — Theo dõi văn bản</title><link rel="stylesheet" href="/app.css"></head>
<body class="login">
<main>
<h1>Theo dõi văn bản liên thông</h1>
<p>Nhập mã truy cập do quản trị viên cấp để xem tình trạng văn bản.</p>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/login">
<label for="token">Mã truy cập</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Đăng nhập</button>
</form>
</main>
</body>
</html>
`;
}

export function appPage(): string {
  return `<!doctype html>
<html lang="vi">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Theo dõi văn bản liên thông</title><link rel="stylesheet" href="/app.css"></head>
<body>
<header>
<h1>Theo dõi văn bản liên thông <span id="agency"></span></h1>
<div class="status"><span id="refreshed">Đang tải…</span> <form method="post" action="/logout" id="logout-form"><button type="submit" id="logout">Đăng xuất</button></form></div>
</header>
<section class="filters" aria-label="Bộ lọc">
<label>Chiều <select id="f-direction"><option value="">Tất cả</option><option value="outbound">Văn bản đi</option><option value="inbound">Văn bản đến</option></select></label>
<label>Cơ quan <select id="f-counterpart"><option value="">Tất cả</option></select></label>
<label>Trạng thái <select id="f-stage"><option value="">Tất cả</option></select></label>
<label>Từ ngày <input type="date" id="f-from"></label>
<label>Đến ngày <input type="date" id="f-to"></label>
<label class="check"><input type="checkbox" id="f-overdue"> Chỉ văn bản quá hạn</label>
<label>Tìm <input type="search" id="f-q" placeholder="Số, ký hiệu, trích yếu"></label>
</section>
<main>
<section class="list">
<table id="documents">
<thead><tr><th>Số/Ký hiệu</th><th>Trích yếu</th><th>Chiều</th><th>Cơ quan</th><th>Trạng thái</th><th>Hạn xử lý</th><th>Cập nhật</th></tr></thead>
<tbody></tbody>
</table>
<p id="empty" hidden>Không có văn bản nào khớp với bộ lọc.</p>
<nav class="pager"><button id="prev" type="button">‹ Trang trước</button> <span id="page"></span> <button id="next" type="button">Trang sau ›</button></nav>
</section>
<aside id="timeline" hidden>
<h2 id="t-title"></h2>
<dl id="t-meta"></dl>
<ol id="t-steps"></ol>
<button type="button" id="t-close">Đóng</button>
</aside>
</main>
<script src="/app.js"></script>
</body>
</html>
`;
}

export const APP_CSS = `
:root { --ink: #1d2733; --muted: #5b6b7c; --line: #d8dee6; --accent: #a3121a; --ok: #1f6f43; --late: #b3261e; --bg: #f6f7f9; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans", "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: var(--ink); background: var(--bg); font-size: 14px; }
header { display: flex; justify-content: space-between; align-items: center; padding: 10px 18px; background: var(--accent); color: #fff; }
header h1 { font-size: 18px; margin: 0; font-weight: 600; }
header #agency { font-weight: 400; opacity: .9; }
header .status { display: flex; gap: 12px; align-items: center; font-size: 12px; }
header form { margin: 0; }
header button { background: transparent; color: #fff; border: 1px solid #fff8; border-radius: 4px; padding: 3px 8px; cursor: pointer; }
.filters { display: flex; flex-wrap: wrap; gap: 10px 16px; padding: 10px 18px; background: #fff; border-bottom: 1px solid var(--line); }
.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 3px; }
.filters label.check { flex-direction: row; align-items: center; align-self: flex-end; color: var(--ink); }
.filters select, .filters input { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; min-width: 130px; }
main { display: flex; gap: 16px; padding: 14px 18px; align-items: flex-start; }
.list { flex: 1 1 auto; min-width: 0; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 7px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; font-size: 12px; color: var(--muted); }
tbody tr { cursor: pointer; }
tbody tr:hover, tbody tr.selected { background: #fdf3f3; }
td.subject { max-width: 420px; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; background: #e7ecf2; margin: 1px 2px 1px 0; white-space: nowrap; }
.badge.done { background: #dcefe4; color: var(--ok); }
.badge.rejected, .badge.refused, .badge.cancelled { background: #f6dcdc; color: var(--late); }
.badge.overdue { background: var(--late); color: #fff; font-weight: 600; }
.pager { margin-top: 10px; display: flex; gap: 10px; align-items: center; }
.pager button, aside button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; }
aside { flex: 0 0 440px; background: #fff; border: 1px solid var(--line); padding: 12px 16px; }
aside h2 { font-size: 16px; margin: 0 0 8px; }
aside dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 10px; margin: 0 0 12px; font-size: 13px; }
aside dt { color: var(--muted); }
aside dd { margin: 0; overflow-wrap: anywhere; }
aside ol { list-style: none; padding: 0; margin: 0 0 12px; border-left: 2px solid var(--line); }
aside li { position: relative; padding: 0 0 12px 14px; }
aside li::before { content: ""; position: absolute; left: -6px; top: 4px; width: 10px; height: 10px; border-radius: 50%; background: var(--accent); }
aside li.late::before { background: var(--late); }
aside li .when { color: var(--muted); font-size: 12px; }
aside li .what { font-weight: 600; }
aside li .evidence { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.error { color: var(--late); }
body.login main { display: block; max-width: 380px; margin: 80px auto; background: #fff; border: 1px solid var(--line); padding: 24px; }
body.login h1 { font-size: 20px; margin-top: 0; }
body.login form { display: flex; flex-direction: column; gap: 8px; }
body.login input, body.login button { font: inherit; padding: 6px 8px; }
`;
