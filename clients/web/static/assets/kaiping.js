// kaiping.js: what every kaiping page shares. Plain ES module, no build step.
//
//   login    through the local signing agent (agent.js: pairing, challenge, signature,
//            silent renewal), or from a link: the session token arrives in the link's
//            fragment (#token=…), is removed from the address bar at once; either way it is
//            kept in this tab's sessionStorage;
//   api()    calls the JSON API with "Authorization: Bearer <token>" and turns an error
//            answer into an ApiError carrying its stable code and Chinese message;
//   time     server time, from the Date header of the server's answers: deadlines are
//            counted against it, never against the visitor's own clock;
//   DOM      h() builds elements and puts text in as text, never parsed as markup, so a
//            name typed into the expert pool can never become a script.

import { loginPanel, resumeRenewal } from '/assets/agent.js';

const TOKEN_KEY = 'kaiping.session';
const EXPIRES_KEY = 'kaiping.session.expires';

// Take the token before anything else runs, so that it never stays in the address bar
// (or a bookmark, or a screenshot) longer than this module takes to load.
(function takeToken() {
  const frag = new URLSearchParams(location.hash.slice(1));
  const t = frag.get('token');
  if (!t) return;
  sessionStorage.setItem(TOKEN_KEY, t);
  sessionStorage.removeItem(EXPIRES_KEY);
  frag.delete('token');
  const rest = frag.toString();
  history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
})();

/** The session token of this tab, or "". */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

/**
 * Keeps a session this tab logged in to through the agent, and when it expires (so that
 * the renewal survives a reload of the page).
 */
export function setSession(t, expiresAt) {
  sessionStorage.setItem(TOKEN_KEY, t);
  sessionStorage.setItem(EXPIRES_KEY, expiresAt);
}

/** When this tab's agent session expires, or "" for a link's session (never renewed). */
export function sessionExpiry() {
  return sessionStorage.getItem(EXPIRES_KEY) || '';
}

/** Forget the session of this tab. */
export function logout() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(EXPIRES_KEY);
}

/** An error answer of the API: status, stable code, Chinese message, and the whole body. */
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

let clockOffset = 0; // server time minus local time, in ms
let clockKnown = false;

function noteServerTime(resp) {
  const d = Date.parse(resp.headers.get('Date') || '');
  if (!Number.isNaN(d)) {
    // The header has whole seconds: on average the server is half a second further on.
    clockOffset = d + 500 - Date.now();
    clockKnown = true;
  }
}

/** The server's current time. */
export function serverNow() {
  return new Date(Date.now() + clockOffset);
}

/**
 * Calls the API. body: an object (sent as JSON), or with opts.type raw data of that type
 * (a CSV file). Resolves to the parsed answer (null when empty); rejects with ApiError.
 */
export async function api(method, path, body, opts = {}) {
  const headers = {};
  if (token()) headers.Authorization = 'Bearer ' + token();
  let payload;
  if (body !== undefined && body !== null) {
    headers['Content-Type'] = opts.type || 'application/json';
    payload = opts.type ? body : JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: payload, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试', null);
  }
  noteServerTime(resp);
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!resp.ok) {
    const p = (data && data.error) || {};
    const err = new ApiError(resp.status, p.code || 'http_' + resp.status,
      p.message || '请求失败（HTTP ' + resp.status + '）', data);
    if (resp.status === 401) {
      logout();
      document.dispatchEvent(new CustomEvent('kaiping:logout', { detail: err }));
    }
    throw err;
  }
  return data;
}

// ---- DOM ----------------------------------------------------------------------------------

function fill(el, attrs, children) {
  let value;
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  // After the children, so that a <select> has its options.
  if (value !== undefined) el.value = value;
  return el;
}

/** h('tr', {class: 'x', onclick: f}, child, 'text', [more]): an element; text stays text. */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** svg('circle', {cx: 1}): an SVG element. */
export function svg(tag, attrs, ...children) {
  return fill(document.createElementNS('http://www.w3.org/2000/svg', tag), attrs, children);
}

/** A table; rows are arrays of cells (text or nodes); rowAttrs(row index) may add attributes. */
export function table(headers, rows, rowAttrs) {
  const body = rows.length
    ? rows.map((r, i) => h('tr', rowAttrs ? rowAttrs(i) : {}, r.map((c) => h('td', {}, c))))
    : [h('tr', { class: 'empty' }, h('td', { colspan: headers.length }, '暂无数据'))];
  return h('table', { class: 'grid' },
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, body));
}

/** A labelled form field around control. */
export function field(label, control) {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

/** <select> of [value, text] pairs. */
export function select(attrs, options) {
  return h('select', attrs, options.map(([v, t]) => h('option', { value: v }, t)));
}

// ---- messages -----------------------------------------------------------------------------

/** The box showing an error: its Chinese message and its code. */
export function errorBox(err) {
  if (!(err instanceof ApiError)) {
    console.error(err);
    err = new ApiError(0, 'page', '页面出错：' + ((err && err.message) || err), null);
  }
  // People read the message; the stable code is for support staff, in a small line below.
  return h('div', { class: 'error', role: 'alert' },
    h('span', { class: 'message' }, err.message),
    h('div', { class: 'detail' }, '错误代码：', h('code', { class: 'code' }, err.code)));
}

/**
 * The collapsible "核验" panel: hashes, seeds and verification commands, for whoever checks
 * the platform's work, kept out of the main flow of those who only need the result. rows are
 * [label, value] pairs, value text or a node.
 */
export function verifyPanel(rows, attrs = {}) {
  return h('details', { class: 'verify', ...attrs }, h('summary', {}, '核验'),
    h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
}

/** A success message. */
export function okBox(text) {
  return h('div', { class: 'ok', role: 'status' }, text);
}

/**
 * The notice of a page without a session: the login through the signing agent (agent.js),
 * with the link login named as the alternative; done runs once logged in.
 */
export function loginNotice(done = () => {}) {
  return loginPanel(done);
}

/**
 * Runs fn, showing its error in out (cleared first) as box(err) makes it; the button is
 * disabled meanwhile so an action is never sent twice. Resolves to fn's result, or undefined
 * after an error.
 */
export async function act(out, fn, button, box = errorBox) {
  out.replaceChildren();
  if (button) button.disabled = true;
  try {
    return await fn();
  } catch (e) {
    out.replaceChildren(box(e));
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

// ---- the confirmation dialog ----------------------------------------------------------------

/**
 * Asks the person to confirm a step, saying what it does and, for an irreversible move, who
 * is still missing: missing names under missingLabel (none shows allDone), from the data the
 * page already has. fields are extra inputs
 * ([{name, label, type: 'text'|'textarea'|'datetime-local', required}]). Resolves to the
 * values by name (an empty object without fields) on 确认, or null on 取消. The dialog is
 * #confirm-dialog; its buttons are .dialog-ok and .dialog-cancel.
 */
export function confirmStep({ title, text, ok = '确认', danger = false, fields = [], missing, missingLabel, allDone }) {
  document.getElementById('confirm-dialog')?.remove();
  const inputs = fields.map((f) => {
    const attrs = { name: f.name, id: 'dialog-' + f.name, required: !!f.required, value: f.value || '' };
    const el = f.type === 'textarea' ? h('textarea', attrs) : h('input', { ...attrs, type: f.type || 'text' });
    return [f, el];
  });
  const msg = h('div', { class: 'dialog-msg' });
  return new Promise((resolve) => {
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    const okBtn = h('button', { type: 'button', class: 'dialog-ok' + (danger ? ' danger' : ''), onclick: () => {
      const out = {};
      for (const [f, el] of inputs) {
        const v = el.value.trim();
        if (f.required && !v) {
          msg.replaceChildren(h('div', { class: 'error', role: 'alert' }, '请填写' + f.label));
          el.focus();
          return;
        }
        out[f.name] = v;
      }
      done(out);
    } }, ok);
    const dlg = h('dialog', { id: 'confirm-dialog', class: 'confirm' },
      h('h3', {}, title),
      (Array.isArray(text) ? text : [text]).map((t) => h('p', {}, t)),
      missing && missing.length
        ? [h('p', { class: 'warn' }, missingLabel + '（' + missing.length + '）：'), h('ul', { class: 'missing' }, missing.map((n) => h('li', {}, n)))]
        : allDone ? h('p', {}, allDone) : null,
      inputs.map(([f, el]) => h('label', { class: 'field' }, h('span', {}, f.label), el)),
      msg,
      h('div', { class: 'row' }, okBtn,
        h('button', { type: 'button', class: 'secondary dialog-cancel', onclick: () => done(null) }, '取消')));
    dlg.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      done(null);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// ---- time (Beijing time: every date a user reads or types is China Standard Time) --------

const parts = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

function beijing(v) {
  const o = {};
  for (const p of parts.formatToParts(new Date(v))) o[p.type] = p.value;
  return o;
}

/**
 * "2026-06-01 08:00（北京时间）" (with seconds: "2026-06-01 08:00:05（北京时间）"): every time a
 * person reads says which clock it is on, since bidders and experts sit in other time zones.
 */
export function fmtTime(v, seconds) {
  if (!v) return '—';
  return fmtClock(v, seconds) + '（北京时间）';
}

/** "2026-06-01 08:00 至 2026-06-01 12:00（北京时间）": a span, labelled once. */
export function fmtRange(from, to, seconds) {
  if (!from && !to) return '—';
  return fmtClock(from, seconds) + ' 至 ' + fmtClock(to, seconds) + '（北京时间）';
}

/**
 * "2026-06-01 08:00", Beijing time, without the label: only where the label stands once
 * nearby (a log whose heading or page clock says 北京时间, a message that says it).
 */
export function fmtClock(v, seconds) {
  if (!v) return '—';
  const b = beijing(v);
  return `${b.year}-${b.month}-${b.day} ${b.hour}:${b.minute}` + (seconds ? ':' + b.second : '');
}

/** "2026-06-01", Beijing time. */
export function fmtDate(v) {
  const b = beijing(v);
  return `${b.year}-${b.month}-${b.day}`;
}

/** The value of a datetime-local input showing v in Beijing time. */
export function toInput(v) {
  const b = beijing(v);
  return `${b.year}-${b.month}-${b.day}T${b.hour}:${b.minute}`;
}

/** The instant a datetime-local input means, read as Beijing time (UTC+8, no summer time). */
export function fromInput(s) {
  return s ? s + (s.length === 16 ? ':00' : '') + '+08:00' : '';
}

/**
 * Counts down to deadline in el against server time; calls onEnd once when it passes.
 * Stops by itself when el leaves the page.
 */
export function countdown(el, deadline, onEnd) {
  const end = new Date(deadline).getTime();
  let ran = false;
  const tick = () => {
    if (ran && !el.isConnected) return clearInterval(id);
    ran = true;
    const left = end - serverNow().getTime();
    if (left <= 0) {
      clearInterval(id);
      el.textContent = '已截止';
      el.classList.add('over');
      if (onEnd) onEnd();
      return;
    }
    const s = Math.floor(left / 1000);
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    el.textContent = '剩余 ' + (hh ? hh + ' 小时 ' : '') + mm + ' 分 ' + (s % 60) + ' 秒';
  };
  const id = setInterval(tick, 1000);
  tick();
}

async function syncClock() {
  try {
    noteServerTime(await fetch('/healthz', { cache: 'no-store', credentials: 'omit' }));
  } catch (e) {
    // Shown as unknown until the next answer carries the time.
  }
}

function startClock(el) {
  if (!el) return;
  const show = () => {
    el.textContent = '服务器时间 ' + (clockKnown ? fmtClock(serverNow(), true) : '—') + '（北京时间）';
  };
  syncClock().then(show);
  setInterval(syncClock, 5 * 60 * 1000);
  setInterval(show, 1000);
  show();
}

// ---- the page frame -------------------------------------------------------------------------

const roleLabels = {
  bidder: '投标人', expert: '评标专家', host: '主持人', venue_staff: '场地工作人员',
  supervisor: '监督人员', admin: '系统管理员',
};

/** The Chinese name of a role. */
export function roleLabel(r) {
  return roleLabels[r] || r;
}

/**
 * Starts a page: server time in #server-time, the logged-in principal in #who. Without a
 * session it shows the login through the signing agent and waits for it (opts.optional:
 * resolves to null at once, the login beside the page's content). Resolves to the principal
 * (GET /api/v1/me), or null after putting the reason in <main>: an expired session, or none
 * of roles. Pages render their data only after it.
 */
export async function boot(roles, opts = {}) {
  startClock(document.getElementById('server-time'));
  const main = document.querySelector('main');
  document.addEventListener('kaiping:logout', () => {
    if (!main.querySelector('.notice.login')) main.prepend(loginNotice());
  });
  if (!token() && opts.optional) {
    // A page useful without a session (the start page) shows the login beside its content.
    main.prepend(loginNotice(() => location.reload()));
    return null;
  }
  if (!token()) {
    // The page waits for the login, its own content hidden meanwhile.
    const own = [...main.children];
    for (const el of own) el.hidden = true;
    await new Promise((resolve) => main.prepend(loginNotice(resolve)));
    for (const el of own) el.hidden = false;
  } else {
    resumeRenewal(sessionExpiry());
  }
  let me;
  try {
    me = await api('GET', '/api/v1/me');
  } catch (e) {
    main.replaceChildren(errorBox(e));
    if (e.status === 401) main.append(loginNotice(() => location.reload()));
    return null;
  }
  const who = document.getElementById('who');
  if (who) who.textContent = me.name + '（' + me.roles.map(roleLabel).join('、') + '）';
  if (roles && !roles.some((r) => me.roles.includes(r))) {
    main.replaceChildren(h('div', { class: 'notice', role: 'alert' },
      '当前身份无权使用本页面（需要：' + roles.map(roleLabel).join('、') + '）'));
    return null;
  }
  return me;
}
