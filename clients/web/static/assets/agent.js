// agent.js: login through the local signing agent (kaiping agent), the 证书助手 on the
// user's own computer that holds the certificate's key or UKEY. Plain ES module.
//
//   pairing  the first time, the agent shows a six-digit code in its own window and the page
//            asks the user to type it; the agent then gives this site a pairing token, kept
//            in localStorage (this site only), which every later call carries;
//   login    challenge from the platform → the agent signs it → the platform's session;
//   renewal  the platform has no renewal route: before the session expires, while the page
//            is open, the page logs in again through the agent, without asking anything.
//
// The agent's port is 18443 unless the user set another (a link's #agent_port=…, or the
// field of the pairing form), kept in localStorage.

import { api, h, setSession } from '/assets/kaiping.js';

const PORT_KEY = 'kaiping.agent.port';
const PAIRING_KEY = 'kaiping.agent.pairing';

/** The port the agent listens on unless the user set another. */
export const DEFAULT_PORT = 18443;

// A link may name the agent's port (a test's agent, or a user's second one).
(function takePort() {
  const frag = new URLSearchParams(location.hash.slice(1));
  const p = frag.get('agent_port');
  if (!p) return;
  if (/^[0-9]{1,5}$/.test(p)) localStorage.setItem(PORT_KEY, p);
  frag.delete('agent_port');
  const rest = frag.toString();
  history.replaceState(null, '', location.pathname + location.search + (rest ? '#' + rest : ''));
})();

function port() {
  return localStorage.getItem(PORT_KEY) || String(DEFAULT_PORT);
}

/** An error of the agent (or of reaching it): stable code and Chinese message. */
export class AgentError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function call(method, path, body, pairing) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (pairing) headers.Authorization = 'Bearer ' + pairing;
  let resp;
  try {
    resp = await fetch('http://127.0.0.1:' + port() + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit',
    });
  } catch (e) {
    throw new AgentError('agent.unreachable', '未检测到签名助手：请在本机运行 kaiping agent（端口 ' + port() +
      '），并确认启动时的 --origin 包含本平台地址 ' + location.origin);
  }
  let data = null;
  try {
    data = await resp.json();
  } catch (e) {
    data = null;
  }
  if (!resp.ok) {
    const p = (data && data.error) || {};
    throw new AgentError(p.code || 'agent.http_' + resp.status, p.message || '签名助手拒绝了请求（HTTP ' + resp.status + '）');
  }
  return data;
}

/** Whether this site holds a pairing token for the agent. */
export function paired() {
  return !!localStorage.getItem(PAIRING_KEY);
}

/** The agent's status: version, certificate subject and fingerprint. Rejects with AgentError. */
export function agentStatus() {
  return call('GET', '/v1/status');
}

/** Has the agent show a pairing code in its window. */
export async function requestCode() {
  await call('POST', '/v1/pair', {});
}

/** Pairs with the code the user typed; rejects with AgentError (agent.pairing_code_wrong …). */
export async function pair(code) {
  const r = await call('POST', '/v1/pair', { code: String(code).trim() });
  localStorage.setItem(PAIRING_KEY, r.token);
}

/** Sets the agent's port (from the pairing form). */
export function setPort(p) {
  if (/^[0-9]{1,5}$/.test(String(p))) localStorage.setItem(PORT_KEY, String(p));
}

let renewTimer = 0;

/**
 * Logs in through the agent: challenge, signature, session. Needs a pairing; an agent that
 * forgot it (agent.not_paired) makes this site forget its token too. Schedules the renewal.
 */
export async function agentLogin() {
  const pairing = localStorage.getItem(PAIRING_KEY);
  if (!pairing) throw new AgentError('agent.not_paired', '本网页尚未与签名助手配对');
  const ch = await api('POST', '/api/v1/auth/challenge', {});
  let signed;
  try {
    signed = await call('POST', '/v1/sign-login', { nonce: ch.nonce }, pairing);
  } catch (e) {
    if (e.code === 'agent.not_paired') localStorage.removeItem(PAIRING_KEY);
    throw e;
  }
  const sess = await api('POST', '/api/v1/auth/login', signed);
  setSession(sess.token, sess.expires_at);
  scheduleRenewal(sess.expires_at);
  return sess;
}

/** Schedules the renewal of a session this tab got through the agent ("" for a link's: none). */
export function resumeRenewal(expiresAt) {
  if (expiresAt && paired()) scheduleRenewal(expiresAt);
}

// scheduleRenewal logs in again two minutes before expiresAt (or at two thirds of a short
// session); a failed renewal is retried every 30 seconds until the session is over.
function scheduleRenewal(expiresAt) {
  clearTimeout(renewTimer);
  const end = Date.parse(expiresAt);
  if (Number.isNaN(end)) return;
  const left = end - Date.now();
  const at = Math.max(left > 360_000 ? left - 120_000 : (left * 2) / 3, 1000);
  const attempt = async () => {
    try {
      await agentLogin();
      document.dispatchEvent(new CustomEvent('kaiping:renewed'));
    } catch (e) {
      if (e.code !== 'agent.not_paired' && Date.now() < end - 5000) renewTimer = setTimeout(attempt, 30_000);
    }
  };
  renewTimer = setTimeout(attempt, at);
}

/**
 * The login panel of a page opened without a session: it checks the agent, pairs it if
 * needed (asking for the code the agent shows), logs in and calls done(). The link login
 * (#token=…) still works and is named as the alternative.
 */
export function loginPanel(done) {
  const out = h('div', { class: 'agent-state', role: 'status' });
  const panel = h('section', { class: 'notice login', role: 'alert' },
    h('strong', {}, '请先登录'), '：本平台通过本机的签名助手（kaiping agent）使用您的证书或 UKEY 登录。', out,
    h('p', { class: 'hint' }, '也可使用交易中心发给您的登录链接（末尾带有 #token=…）打开本页面。'));
  const show = (...nodes) => out.replaceChildren(...nodes);

  const portInput = h('input', { type: 'text', inputmode: 'numeric', size: 6, value: port(), 'aria-label': '签名助手端口' });
  const retry = h('button', { type: 'button', onclick: () => start() }, '重新检测');
  const unreachable = (e) => show(h('p', { class: 'error' }, e.message),
    h('label', { class: 'field' }, h('span', {}, '签名助手端口'), portInput),
    h('button', { type: 'button', onclick: () => { setPort(portInput.value); start(); } }, '使用此端口'), ' ', retry);

  const askCode = async () => {
    await requestCode();
    const input = h('input', { type: 'text', inputmode: 'numeric', autocomplete: 'off', maxlength: 6, size: 8,
      id: 'agent-code', 'aria-label': '配对码' });
    const msg = h('div', { role: 'alert' });
    const submit = h('button', { type: 'submit', id: 'agent-pair' }, '配对并登录');
    const form = h('form', {
      onsubmit: async (ev) => {
        ev.preventDefault();
        submit.disabled = true;
        msg.replaceChildren();
        try {
          await pair(input.value);
          await finish();
        } catch (e) {
          msg.replaceChildren(h('p', { class: 'error' }, e.message));
          if (e.code === 'agent.pairing_code_missing') msg.append(h('button', { type: 'button', onclick: () => start() }, '重新获取配对码'));
        } finally {
          submit.disabled = false;
        }
      },
    }, h('label', { class: 'field' }, h('span', {}, '配对码'), input), ' ', submit, msg);
    show(h('p', {}, '首次使用：签名助手窗口中已显示 6 位配对码，请核对网址 ' + location.origin + ' 后在此输入。'), form);
    input.focus();
  };

  const finish = async () => {
    show(h('p', {}, '正在通过签名助手登录……'));
    await agentLogin();
    panel.remove();
    done();
  };

  const start = async () => {
    show(h('p', {}, '正在连接签名助手……'));
    let st;
    try {
      st = await agentStatus();
    } catch (e) {
      unreachable(e);
      return;
    }
    show(h('p', {}, '签名助手已连接：' + st.subject));
    try {
      if (!paired()) {
        await askCode();
        return;
      }
      await finish();
    } catch (e) {
      if (e.code === 'agent.not_paired') {
        try {
          await askCode();
        } catch (e2) {
          unreachable(e2);
        }
        return;
      }
      show(h('p', { class: 'error' }, e.message), retry);
    }
  };
  start();
  return panel;
}
