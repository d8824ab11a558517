// What the hall's pages share: Chinese names of states and kinds, the hall's heading, the
// opening record as a table, the log of events, and the choice of a tender's section.
import { api, ApiError, errorBox, fmtTime, h, table, verifyPanel } from '/assets/kaiping.js';
import { connectLive } from './live.js';

export const $ = (id) => document.getElementById(id);

export const kindLabel = { summary: '开标一览表', technical: '技术标', commercial: '商务标' };

export const envState = {
  sealed: '未解密', queued: '排队等待验证', verifying: '正在逐块验证', decrypted: '已解密',
  corrupt: '文件损坏', error: '平台验证出错，可重新提交密钥',
};

export const stateLabel = {
  bidding: '投标中', sealed: '已截标封存', checking_in: '签到中', decrypting: '解密中',
  published: '已公布开标记录', confirming: '开标记录确认中', closed: '开标结束', failed: '流标',
};

const outcomeLabel = { revoked: '撤销', withdrawn: '撤回' };

/** The hall of this page's address: ?tender=<id>&section=<code or id>, and its API path. */
export function hallOf() {
  const q = new URLSearchParams(location.search);
  const tender = q.get('tender') || '';
  const section = q.get('section') || '';
  if (!tender || !section) return null;
  return { tender, section, path: '/api/v1/tenders/' + encodeURIComponent(tender) + '/sections/' + encodeURIComponent(section) + '/hall' };
}

/** Without ?tender and ?section: the tenders and their sections, each a link to page. */
export async function chooseHall(el, page) {
  try {
    const { tenders } = await api('GET', '/api/v1/tenders');
    const rows = [];
    for (const t of tenders) {
      for (const s of t.sections || []) {
        rows.push([t.code, t.title, s.code + ' ' + s.name, fmtTime(t.deadline),
          h('a', { href: page + '?tender=' + encodeURIComponent(t.id) + '&section=' + encodeURIComponent(s.code) }, '进入开标大厅')]);
      }
    }
    el.replaceChildren(h('p', { class: 'hint' }, '请选择要进入的开标大厅：'),
      table(['项目编号', '项目名称', '标段', '投标截止', ''], rows));
  } catch (e) {
    el.replaceChildren(errorBox(e));
  }
}

/** The heading of a hall: tender, section, state and version. */
export function renderHead(el, v) {
  el.replaceChildren(...[
    h('span', {}, v.tender_code + ' ' + v.tender_title),
    h('span', {}, '标段 ' + v.section_code + ' ' + v.section_name),
    h('span', { class: 'state ' + v.state, id: 'state', 'data-state': v.state }, v.state_label || stateLabel[v.state] || v.state),
    h('span', { class: 'hint' }, '版本 ' + v.version),
    v.reason ? h('span', { class: 'error' }, v.reason) : null,
    // The server's clock is not trusted: nothing moves on its time until it is.
    v.clock_problem ? h('span', { class: 'error', id: 'clock-problem', role: 'alert' }, v.clock_problem) : null,
  ].filter(Boolean));
}

/** Shows the live connection's state in el. */
export function liveStatus(el, state, err, retry) {
  el.className = 'live ' + state;
  el.dataset.state = state;
  if (state === 'open') el.textContent = '实时连接正常';
  else if (state === 'retry') el.textContent = '连接中断，' + Math.round(retry / 1000) + ' 秒后重新连接…' + (err ? '（' + err.message + '）' : '');
  else el.replaceChildren('实时连接已停止', err ? errorBox(new ApiError(0, err.code, err.message, null)) : '');
}

/** A coloured label of an envelope's state (and its outcome once the window closed). */
export function envBadge(e) {
  if (e.outcome) return h('span', { class: 'badge ' + e.outcome }, outcomeLabel[e.outcome] + (e.reason ? '（' + e.reason + '）' : ''));
  let text = envState[e.state] || e.state;
  if (e.state === 'queued' && e.position) text += '，第 ' + e.position + ' 位';
  if (e.state === 'corrupt' && e.error_code) text += '（' + e.error_code + '）';
  // A key our storage failed: it waits, retried, and is not the bidder's doing.
  if (e.waiting) return h('span', { class: 'badge ' + e.state, title: e.waiting }, text + '：' + e.waiting);
  return h('span', { class: 'badge ' + e.state }, text);
}

/** The opening record (开标记录) as a table, with its digest. */
export function recordTable(pr) {
  const rec = typeof pr.record === 'string' ? JSON.parse(pr.record) : pr.record;
  const fields = rec.fields || [];
  const rows = rec.bids.map((b) => [String(b.no), b.bidder_name, b.status_label + (b.reason_text ? '：' + b.reason_text : ''),
    ...fields.map((f) => (b.values && b.values[f.key]) || '—')]);
  return h('div', { class: 'record', 'data-digest': pr.digest },
    h('p', {}, '有效投标 ' + rec.valid_bids + ' 家（最少 ' + rec.min_bids + ' 家）· 公布时间 ' + fmtTime(rec.published_at, true) +
      (rec.outcome === 'failed' ? ' · 流标：' + rec.reason : '')),
    table(['序号', '投标人', '解密结果', ...fields.map((f) => f.label)], rows, (i) => ({ 'data-bidder': rec.bids[i].bidder_id })),
    verifyPanel([['开标记录摘要（SHA-256）', h('code', { class: 'digest' }, pr.digest)]]));
}

/** One line of the log for an event; names maps bidder IDs to names where the page knows them. */
export function eventText(e, names) {
  const p = e.payload || {};
  const who = names && names.get(e.bidder_id || p.bidder);
  switch (e.type) {
    case 'hall.transition':
      return '开标大厅：' + (stateLabel[p.from] || p.from) + ' → ' + (stateLabel[p.to] || p.to) + (p.reason ? '（' + p.reason + '）' : '');
    case 'hall.checkin':
      return (who || '投标人') + '已签到';
    case 'hall.unlock':
      return (who || '投标人') + '提交了' + (kindLabel[p.kind] || p.kind) + '的解密密钥' + (p.via === 'rescue' ? '（补救）' : '');
    case 'hall.unlock_failed':
      return (who || '投标人') + '的' + (kindLabel[p.kind] || p.kind) + '密钥错误（第 ' + p.attempt + ' 次）';
    case 'hall.verified':
      return (who || '投标人') + '的投标文件验证完成';
    case 'hall.publish':
      return '开标记录已公布';
    case 'hall.confirm':
      return (who || '投标人') + '已签名确认开标记录';
    case 'hall.objection':
      return (who || '投标人') + '提出异议';
    case 'hall.objection_answer':
      return '主持人答复了异议';
    case 'hall.rescue_share':
      return '监督人员提交了解密补救密钥份额';
    case 'hall.rescue_combine':
      return '解密补救：已合成补救密钥';
    case 'hall.qualify':
      return '技术标评审结果已记录，进入下一轮开标的投标人已确定';
    case 'hall.record_export':
      return '开标记录已归档（PDF 与数据文件）';
    case 'hall.cosign_propose':
      return '主持人提出需监督人员会签的操作';
    case 'hall.cosign':
      return '监督人员已会签';
    default:
      // A kind this page does not know yet: a plain sentence, never the raw code.
      return '开标大厅记录了一项操作';
  }
}

/** Adds an event's line to the top of the log el (keeping 100). */
export function logEvent(el, e, names) {
  el.prepend(h('li', { 'data-type': e.type, 'data-version': e.version }, fmtTime(e.at, true) + ' ' + eventText(e, names)));
  while (el.children.length > 100) el.lastChild.remove();
}

/**
 * Follows the hall at path live: render(view) with each new view, events into #log (names:
 * bidder IDs to names), the connection's state in #live. viewPath is the REST view that says
 * why a connection was refused.
 */
export function followHall(path, viewPath, names, render) {
  connectLive(path, viewPath, {
    view: render,
    event: (e) => logEvent($('log'), e, names),
    status: (state, err, retry) => liveStatus($('live'), state, err, retry),
  });
}
