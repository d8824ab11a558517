// overseer.js: what the host's console and the supervisor's view of a session share: the
// session as overseers read it (GET /api/v1/sessions/:id), every seat across the cities, the
// groups' progress, the suspension's countdown, who read which bid, and the timeline, all
// kept current from the session's events.
import { api, countdown, fmtRange, fmtTime, h } from '/assets/kaiping.js';
import {
  kindLabel, liveEvents, namesOf, places, put, readsTable, run, sitting, stageBadge, stageOf, stateBadge,
  timeline, venueText,
} from './common.js';

const $ = (id) => document.getElementById(id);

/**
 * Follows session id for an overseer: reads it, its events and its reads, and calls
 * render({sess, events, reads, places}) after each change. Resolves once the first render
 * is done (false if the session cannot be read).
 */
export async function followSession(id, render) {
  const base = '/api/v1/sessions/' + encodeURIComponent(id);
  const pl = await places();
  const events = [];
  let reads = [];
  let sess = await run($('page-msg'), () => api('GET', base));
  if (!sess) return false;
  const readReads = async () => {
    const r = await run($('reads-msg'), () => api('GET', base + '/reads'));
    if (r) reads = r.reads;
  };
  await readReads();
  const draw = () => render({ sess, events, reads, places: pl, base, reload });
  async function reload() {
    const s = await run($('page-msg'), () => api('GET', base));
    if (s) sess = s;
    draw();
  }
  draw();
  liveEvents(id, base, async (evs) => {
    events.push(...evs);
    if (evs.some((e) => e.type === 'session.bid_read' || e.type === 'session.supervisor_read')) await readReads();
    await reload();
  }, (err) => {
    $('live').textContent = err ? '连接中断，正在重试…' : '实时更新中';
    $('live').className = 'live ' + (err ? 'retry' : 'open');
  });
  return true;
}


/**
 * The seat's state in the group's room (evaluation.SeatPresence): online, reconnecting, gone
 * since hh:mm, or gone past the grace, after which the host may record the member as having
 * left.
 */
export function mediaState(m) {
  const p = m.presence;
  if (!p) return h('span', { class: 'media-state', 'data-media': 'none' }, '未进入音视频');
  const since = p.since ? fmtTime(p.since) : '';
  const text = {
    online: '在线',
    reconnecting: '重新连接中（' + since + ' 起）',
    gone: '离开 ' + since + ' 起',
    gone_past_grace: '离开超过宽限时间（' + since + ' 起），可登记离席',
  }[p.state] || '音视频状态未知';
  return h('span', { class: 'media-state', 'data-media': p.state }, text);
}

/** The session's facts: state, window, suspension with its countdown to the limit. */
export function facts(sess) {
  const rows = [
    ['项目', sess.tender_code + ' ' + sess.tender_title],
    ['会议状态', stateBadge(sess.state)],
    ['评标时间', fmtRange(sess.window.start, sess.window.end)],
  ];
  if (sess.review_started_at) rows.push(['开始评审', fmtTime(sess.review_started_at)]);
  if (sess.government_procurement) rows.push(['项目类型', '政府采购（采购人代表不得担任组长）']);
  if (sess.end_reason) rows.push(['作废原因', sess.end_reason]);
  const out = [h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))];
  if (sess.suspension) {
    const left = h('span', { class: 'countdown big', id: 'suspension-countdown' });
    out.push(h('div', { class: 'notice', id: 'suspension' },
      h('div', {}, '评标会议于 ' + fmtTime(sess.suspension.at) + ' 暂停：' + sess.suspension.reason),
      h('div', {}, '须于 ' + fmtTime(sess.suspension.limit) + ' 前恢复，逾期只能作废：', left)));
    countdown(left, sess.suspension.limit);
  }
  const past = sess.suspensions || [];
  if (past.length) {
    out.push(h('p', { class: 'hint' }, '此前暂停 ' + past.length + ' 次：' +
      past.map((s) => fmtTime(s.at) + ' ' + s.reason).join('；')));
  }
  return out;
}

/** Each group's progress: members sitting and ready, the chair, and the requests for more time. */
export function groupsTable(sess) {
  const name = (id) => (sess.members.find((m) => m.id === id) || {}).name || '—';
  return h('table', { class: 'grid groups' },
    h('thead', {}, h('tr', {}, ['评标小组', '评审标段', '应到', '在席', '可以评审', '组长', '申请延长评标时间', '延长记录'].map((x) => h('th', {}, x)))),
    h('tbody', {}, sess.groups.map((g) => {
      const members = sess.members.filter((m) => m.group === g.id);
      const n = (g.extension_requests || []).length;
      const due = 3 * n > g.size;
      return h('tr', { 'data-group': g.id },
        h('td', {}, g.name),
        h('td', {}, g.sections.map((s) => s.code + ' ' + s.name).join('、')),
        h('td', {}, String(g.size)),
        h('td', {}, String(members.filter(sitting).length)),
        h('td', {}, String(members.filter((m) => stageOf(m) === 'declared').length)),
        h('td', {}, g.chair ? name(g.chair) : g.vote_round > 1 ? '第 ' + g.vote_round + ' 轮推选中' : '尚未选出'),
        h('td', { class: 'extension' + (due ? ' due' : ''), 'data-requests': n },
          n + ' / ' + g.size + ' 人（超过三分之一即 ' + (Math.floor(g.size / 3) + 1) + ' 人须延长）',
          due ? h('div', { class: 'notice' }, '已超过三分之一，须延长评标时间') : null,
          (g.extension_requests || []).map((r) => h('div', { class: 'hint' }, name(r.member) + '：' + r.reason))),
        h('td', {}, (g.extensions || []).length ? g.extensions.map((e) => h('div', {}, '延长至 ' + fmtTime(e.until) + '：' + e.reason)) : '—'));
    })));
}

/** Every seat across the cities; actions(m) (the console's buttons) fills the last column. */
export function seatsTable(sess, pl, actions) {
  const groups = new Map(sess.groups.map((g) => [g.id, g]));
  const heads = ['评标小组', '成员', '场地', '工位', '进度', '音视频'];
  if (actions) heads.push('操作');
  return h('table', { class: 'grid seats' },
    h('thead', {}, h('tr', {}, heads.map((x) => h('th', {}, x)))),
    h('tbody', {}, sess.members.map((m) => {
      const stage = stageOf(m);
      const g = groups.get(m.group);
      return h('tr', { 'data-member': m.id, 'data-stage': stage, 'data-venue': m.venue_id || '' },
        h('td', {}, g ? g.name : ''),
        h('td', {}, m.name, ' ', h('span', { class: 'hint' }, kindLabel(m.kind) + (g && g.chair === m.id ? '，组长' : ''))),
        h('td', {}, venueText(pl, m) + (m.host_site ? '（主场）' : '（副场）')),
        h('td', {}, m.seat_code || '—'),
        h('td', {}, stageBadge(stage), m.replaced || m.left ? h('div', { class: 'hint' }, (m.replaced || m.left).reason) : null),
        h('td', {}, mediaState(m) || '—'),
        actions ? h('td', {}, actions(m, stage)) : null);
    })));
}

/** Draws what console and watch both show. */
export function drawCommon({ sess, events, reads, places: pl }, actions) {
  const j = JSON.stringify;
  const names = j(sess.members.map((m) => [m.id, m.name]));
  put($('facts'), j([sess.state, sess.window, sess.suspension, sess.suspensions, sess.review_started_at, sess.end_reason]), () => facts(sess));
  put($('groups'), j([sess.groups, sess.members]), () => groupsTable(sess));
  put($('seats'), j([sess.state, sess.groups.map((g) => g.chair), sess.members]), () => seatsTable(sess, pl, actions));
  put($('reads'), j([reads, names]), () => readsTable(reads, namesOf(sess)));
  put($('events'), j([events.length, names]), () => timeline(events, namesOf(sess)));
}
