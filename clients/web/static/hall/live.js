// live.js: the hall's live connection and the hall's clock.
//
//   connectLive()  opens the WebSocket of opening/hall_live.go (the session token travels as
//                  the subprotocol "bearer.<token>", never in the address), hands each view
//                  and event to the page, pings every 15 s, and reconnects
//                  with backoff, asking for the events it missed (?after=N);
//   the clock      the hall's server time comes with every view and every pong: the offset to
//                  this computer's clock is measured from the pong with the shortest round
//                  trip, and countdowns count against the server, never the local clock.
import { api, token, fmtClock } from '/assets/kaiping.js';

const PROTOCOL = 'kaiping.hall.v1';
const PING_EVERY = 15000;

let offset = null; // server time minus local time, ms
let rtt = null; // round trip of the sample offset comes from, ms
const samples = [];
let redraw = () => {}; // the clock's display, drawn again as soon as the offset is known

/** The hall server's current time. */
export function hallNow() {
  return new Date(Date.now() + (offset || 0));
}

function noteView(serverTime) {
  // Before the first pong: the view's time, its trip unknown.
  if (offset === null && serverTime) {
    offset = Date.parse(serverTime) - Date.now();
    redraw();
  }
}

function notePong(sentAt, serverTime) {
  const now = Date.now();
  const trip = now - sentAt;
  samples.push({ trip, off: Date.parse(serverTime) + trip / 2 - now });
  if (samples.length > 8) samples.shift();
  const best = samples.reduce((a, b) => (b.trip < a.trip ? b : a));
  offset = best.off;
  rtt = best.trip;
  redraw();
}

/** Shows the hall's server time and this computer's clock offset in el, every second. */
export function startHallClock(el) {
  const show = () => {
    if (offset === null) {
      el.textContent = '服务器时间 —（正在连接）';
      return;
    }
    const ahead = -offset / 1000; // seconds this computer is ahead of the server
    const skew = Math.abs(ahead) < 0.05 ? '与服务器一致' : (ahead > 0 ? '快 ' : '慢 ') + Math.abs(ahead).toFixed(1) + ' 秒';
    el.textContent = '服务器时间 ' + fmtClock(hallNow(), true) + '（北京时间）· 本机时钟' + skew +
      (rtt !== null ? '（往返 ' + rtt + ' 毫秒）' : '');
    el.dataset.offsetMs = String(Math.round(offset));
  };
  redraw = show;
  setInterval(show, 1000);
  show();
}

/**
 * Counts down to deadline in el against the hall's server time ("剩余 29 分 59 秒"); a new
 * call for the same el replaces the old countdown.
 */
export function hallCountdown(el, deadline, over) {
  clearInterval(Number(el.dataset.timer));
  const end = Date.parse(deadline);
  const tick = () => {
    const left = end - hallNow().getTime();
    if (left <= 0) {
      clearInterval(Number(el.dataset.timer));
      el.textContent = over || '已截止';
      el.classList.add('over');
      return;
    }
    el.classList.remove('over');
    const s = Math.floor(left / 1000);
    const hh = Math.floor(s / 3600);
    el.textContent = '剩余 ' + (hh ? hh + ' 小时 ' : '') + Math.floor((s % 3600) / 60) + ' 分 ' + (s % 60) + ' 秒';
  };
  el.dataset.timer = String(setInterval(tick, 1000));
  tick();
}

/** Error codes after which reconnecting cannot help: the person must log in or may not watch. */
function final(code) {
  return code.startsWith('auth.') || code === 'hall.not_bidder' || code === 'tender.not_found' ||
    code === 'tender.section_not_found' || code === 'hall.live_too_many' || code === 'tender.not_assigned' ||
    code === 'session.not_found' || code === 'session.not_member' || code === 'session.not_venue_staff' ||
    code === 'session.live_too_many';
}

/** Shows (or clears) why the server's clock is not trusted, in the hall's heading: every
 * pong says it, so the host sees it without waiting for the hall to change. */
function showClockProblem(problem) {
  let el = document.getElementById('clock-problem');
  if (!problem) {
    if (el) el.remove();
    return;
  }
  const head = document.getElementById('head');
  if (!el && !head) return;
  if (!el) {
    el = document.createElement('span');
    el.id = 'clock-problem';
    el.className = 'error';
    el.setAttribute('role', 'alert');
    head.append(el);
  }
  el.textContent = problem;
}

/**
 * Connects to the hall at path (/api/v1/tenders/<id>/sections/<section>/hall) and calls
 * on.view(view), on.event(event) and on.status(state, error, retryMs)
 * with state "open", "retry" or "stopped". viewPath is the REST view asked when the
 * connection is refused, to learn why (browsers do not show a refused upgrade's answer).
 * The evaluation session's live connection speaks the same protocol under its own name
 * (protocol "kaiping.session.v1", path /api/v1/sessions/<id>).
 */
export function connectLive(path, viewPath, on, protocol = PROTOCOL) {
  let version = -1; // of the newest view shown
  let lastEvent = 0; // the first connection asks for the hall's recent events, for the log
  let retry = 1000;
  let lastError = null;
  let ws;
  let pinger;

  const ping = () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping', t: Date.now() }));
  };

  const dispatch = (m) => {
    switch (m.type) {
      case 'view':
        if (m.version >= version) {
          version = m.version;
          noteView(m.view && m.view.server_time);
          on.view(m.view);
        }
        break;
      case 'event':
        if (m.version > lastEvent) {
          lastEvent = m.version;
          on.event(m.event);
        }
        break;
      case 'pong':
        notePong(Number(m.t), m.server_time);
        showClockProblem(m.clock_problem || '');
        break;
      case 'error':
        lastError = m.error;
        break;
      default:
    }
  };

  const open = () => {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const after = '?after=' + lastEvent;
    let heard = false;
    lastError = null;
    ws = new WebSocket(scheme + location.host + path + '/live' + after, [protocol, 'bearer.' + token()]);
    ws.onopen = () => {
      retry = 1000;
      on.status('open');
      ping();
      pinger = setInterval(ping, PING_EVERY);
    };
    ws.onmessage = (e) => {
      heard = true;
      let m;
      try {
        m = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      dispatch(m);
    };
    ws.onclose = async () => {
      clearInterval(pinger);
      if (!heard && !lastError) {
        // Refused before the upgrade: the API says why.
        try {
          await api('GET', viewPath);
        } catch (err) {
          lastError = { code: err.code, message: err.message };
        }
      }
      if (lastError && final(lastError.code)) {
        on.status('stopped', lastError);
        return;
      }
      on.status('retry', lastError, retry);
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 15000);
    };
  };
  open();
}
