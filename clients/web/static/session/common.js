// common.js: what the evaluation session's pages (评标会议) share: the Chinese names of states
// and stages, the timeline of events, the live feed, the confirmation dialog, errors shown
// to people (the Chinese message; the stable code only in a tooltip), and the video panel.
import { act, api, ApiError, fmtTime, h, table, token, fmtClock } from '/assets/kaiping.js';
import { connectLive } from '/hall/live.js';
import { grantFragment } from '/hall/media.js';

export const stateLabels = {
  scheduled: '待开始', checking_in: '签到中', in_review: '评审中', signing: '签署评标报告',
  closed: '已结束', suspended: '已暂停', void: '已作废',
};

export const stageLabels = {
  awaiting: '待到场（递补专家待确认参加）', arrived: '待核验身份', confirmed: '已核验，待签署承诺书',
  pledged: '已承诺，待回避声明', declared: '已声明无须回避，可以评审', recusing: '声明回避，待递补',
  replaced: '已由递补专家替换', left: '已离席',
};

const outcomeLabels = { recused: '回避', left: '离席', declined: '拒绝参加', no_show: '未到场' };

const kindLabels = { drawn: '抽取专家', representative: '招标人代表' };

/** The Chinese name of a member kind. */
export function kindLabel(k) {
  return kindLabels[k] || k;
}

let placesRead;

/**
 * The venues and cities, read once: {venues: Map by ID, cities: Map by code}, so a seat is
 * shown by its venue's name and city, not by codes. Empty maps when they cannot be read.
 */
export function places() {
  if (!placesRead) {
    placesRead = Promise.all([api('GET', '/api/v1/venues'), api('GET', '/api/v1/cities')])
      .then(([v, c]) => ({ venues: new Map(v.venues.map((x) => [x.id, x])), cities: new Map(c.cities.map((x) => [x.code, x])) }))
      .catch(() => ({ venues: new Map(), cities: new Map() }));
  }
  return placesRead;
}

/** The venue of member m as people name it: its name, or its city and code. */
export function venueText(pl, m) {
  const v = pl && pl.venues.get(m.venue_id);
  if (v) return v.name;
  const c = pl && pl.cities.get(m.city);
  return [c ? c.name : '', m.venue_code || ''].filter((x) => x).join(' ') || '—';
}

/** Where m sits: venue, seat, host or remote site. */
export function seatText(pl, m) {
  if (!m.seat_id && !m.seat_code) return '尚未分派工位';
  return venueText(pl, m) + ' 工位 ' + (m.seat_code || '—') + (m.host_site ? '（主场）' : '（副场）');
}

const drawnFor = new WeakMap();

/**
 * Fills el with build() unless it was last filled for the same key: a page redraws only what
 * changed, so a button is not replaced under the pointer and typed text stays.
 */
export function put(el, key, build) {
  if (drawnFor.get(el) === key) return;
  drawnFor.set(el, key);
  el.replaceChildren(...[build()].flat().filter((x) => x !== null && x !== undefined));
}

/**
 * Lists sessions in el: project, state, window (Beijing time), what column names of each
 * (extra: [heading, s => cell]), and a link to open it (href(s), with text).
 */
export function sessionList(el, sessions, extra, href, text) {
  const heads = ['项目', '状态', '评标时间（北京时间）'];
  if (extra) heads.push(extra[0]);
  el.replaceChildren(table([...heads, ''], sessions.map((s) => [
    s.tender_code + ' ' + s.tender_title, stateBadge(s.state), fmtClock(s.window.start) + ' 至 ' + fmtClock(s.window.end),
    ...(extra ? [extra[1](s)] : []),
    h('a', { href: href(s), class: 'enter' }, text)])));
}

/** The query parameter name of this page's address. */
export function param(name) {
  return new URLSearchParams(location.search).get(name) || '';
}

/**
 * Where member m stands: evaluation.SessionMember.Stage(), which the server writes into every
 * member it sends.
 */
export function stageOf(m) {
  return m.stage; // evaluation.SessionMember.Stage, in every member the server sends
}

/** Whether m holds a place on the committee now. */
export function sitting(m) {
  return !m.replaced && !m.left;
}

/** A coloured label of a session state. */
export function stateBadge(s) {
  return h('span', { class: 'badge state-' + s, 'data-state': s }, stateLabels[s] || s);
}

/** A coloured label of a member's stage. */
export function stageBadge(stage) {
  return h('span', { class: 'badge stage-' + stage, 'data-stage': stage }, stageLabels[stage] || stage);
}

/**
 * The box showing an error to a person: the Chinese message; the stable code only in the
 * tooltip (a help desk can ask for it), never in the text.
 */
export function problem(err) {
  if (!(err instanceof ApiError)) {
    console.error(err);
    err = new ApiError(0, 'page', '页面出错，请刷新后重试', null);
  }
  return h('div', { class: 'error', role: 'alert', title: '错误代码：' + err.code, 'data-code': err.code },
    h('span', { class: 'message' }, err.message));
}

/** act() of kaiping.js with the error shown by problem(): the code in the tooltip only. */
export function run(out, fn, button) {
  return act(out, fn, button, problem);
}

// ---- live events ----------------------------------------------------------------------------

/**
 * Delivers the events of session id as they are committed, in order, by calling
 * deliver(events) with each batch, and onError(err) with null when connected and the error
 * while it reconnects. The source is the session's WebSocket (evaluation/session_live.go, the
 * same protocol as the opening hall's: live.js), which asks for what it missed after a drop;
 * viewPath is the caller's REST view of the session, asked to learn why a connection was
 * refused.
 */
export function liveEvents(id, viewPath, deliver, onError = () => {}) {
  connectLive('/api/v1/sessions/' + encodeURIComponent(id), viewPath, {
    view: () => {},
    event: (ev) => deliver([ev]),
    status: (state, err) => onError(state === 'open' ? null : err || new Error('reconnecting')),
  }, 'kaiping.session.v1');
}

/** Names to read events with: members and groups of session by ID. */
export function namesOf(sess) {
  const members = new Map((sess.members || sess.seats || []).map((m) => [m.id, m]));
  const groups = new Map((sess.groups || []).map((g) => [g.id, g]));
  const sections = new Map();
  for (const g of sess.groups || []) for (const s of g.sections || []) sections.set(s.id, s);
  return { members, groups, sections };
}

function who(names, id) {
  const m = names.members.get(id);
  return m ? m.name : '一名成员';
}

function groupName(names, id) {
  const g = names.groups.get(id);
  return g ? g.name : '评标小组';
}

const bidKinds = { summary: '开标一览表', technical: '技术标', commercial: '商务标' };

/** The Chinese name of an envelope kind. */
export function bidKind(k) {
  return bidKinds[k] || '投标文件';
}

/** The bid a read names, as people read it: section and kind, no identifiers. */
export function bidLabel(names, p) {
  const s = names.sections.get(p.section);
  return (s ? s.code + ' ' + s.name : '本项目') + ' ' + (p.bidder_name ? p.bidder_name + ' ' : '') + bidKind(p.kind);
}

const reviewStages = { initial: '初步评审', detailed: '详细评审' };
/** The Chinese names of the committee's decisions on a bid (evaluation.Decision*). */
export const decisionKinds = { reject: '否决投标', revoke: '撤销否决', cost_explained: '接受低于成本的书面说明', adjust: '偏差调整' };

/** Fen as 元 with two decimals: 100000000 → "1,000,000.00". */
export function yuan(fen) {
  const neg = fen < 0;
  const s = Math.abs(fen).toString().padStart(3, '0');
  return (neg ? '-' : '') + s.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + s.slice(-2);
}

/** 元 as a person types them ("1,234.5") in fen, or NaN. */
export function fenOf(text) {
  const t = String(text).replace(/[,，\s]/g, '');
  if (!/^-?\d+(\.\d{1,2})?$/.test(t)) return NaN;
  const [w, f = ''] = t.replace('-', '').split('.');
  const v = Number(w) * 100 + Number((f + '00').slice(0, 2));
  return t.startsWith('-') ? -v : v;
}

/** The sentence of one event, in Chinese, with names for IDs. */
export function eventText(ev, names) {
  const p = ev.payload || {};
  switch (ev.type) {
    case 'session.create': return '主持人创建了评标会议';
    case 'session.checkin': return '开始签到：身份核验、签署承诺书、回避声明、推选组长';
    case 'session.confirm': return '场地工作人员现场核验了 ' + who(names, p.member) + ' 的身份（工位 ' + (p.seat || '—') + '）';
    case 'session.pledge': return who(names, p.member) + ' 签署了评标承诺书';
    case 'session.declare':
      return p.conflict ? who(names, p.member) + ' 声明回避：' + (p.reason || '') : who(names, p.member) + ' 声明与投标人无利害关系，无须回避';
    case 'session.replace':
      if (p.out) return who(names, p.out) + ' 因' + (outcomeLabels[p.outcome] || '其他原因') + '退出评标委员会' + (p.reason ? '：' + p.reason : '');
      return who(names, p.in || p.member) + ' 递补加入' + groupName(names, p.group);
    case 'session.vote': return '第 ' + p.round + ' 轮推选组长：' + who(names, p.voter) + ' 已投票';
    case 'session.vote_void': return who(names, p.member) + ' 在第 ' + p.round + ' 轮的投票因其退出而作废';
    case 'session.chair': return groupName(names, p.group) + '推选 ' + who(names, p.chair) + ' 为组长（' + p.votes + ' 票）';
    case 'session.chair_void': return '组长 ' + who(names, p.member) + ' 已退出，' + groupName(names, p.group) + '重新推选组长';
    case 'session.revote': return '无人获得过半数票，' + groupName(names, p.group) + '进行第 ' + p.round + ' 轮推选';
    case 'session.review': return '开始评审';
    case 'session.signing': return '评审结束，进入评标报告签署';
    case 'session.close': return '评标会议结束';
    case 'session.suspend': return '评标会议暂停：' + (p.reason || '') + '（最迟须于 ' + fmtTime(p.limit) + ' 前恢复）';
    case 'session.resume': return '评标会议恢复，暂停了 ' + Math.round((p.paused_seconds || 0) / 60) + ' 分钟';
    case 'session.void': return '评标会议作废：' + (p.reason || '') + '，须重新组建评标委员会';
    case 'session.extension_request':
      return who(names, p.member) + ' 申请延长评标时间：' + (p.reason || '') + '（已有 ' + p.count + ' / ' + p.size + ' 人申请）';
    case 'session.extension_due': return '超过三分之一的成员申请延长评标时间（' + p.count + ' / ' + p.size + '），须延长';
    case 'session.extend': return '评标时间延长至 ' + fmtTime(p.until) + '：' + (p.reason || '');
    case 'session.left': return who(names, p.member) + ' 离席：' + (p.reason || '') + '，不得返回';
    case 'session.bid_read': return who(names, p.reader) + ' 查阅了 ' + bidLabel(names, p);
    case 'session.supervisor_read': return '监督人员调阅了 ' + bidLabel(names, p) + '，原因：' + (p.reason || '');
    case 'session.message': return '主持人消息：' + (p.text || p.message || '');
    case 'session.member_message': return '主持人给您的消息：' + (p.text || '');
    case 'session.accepted': return who(names, p.member) + ' 确认参加，待到场核验';
    case 'session.member_login': return who(names, p.member) + ' 的登录证书已绑定';
    case 'session.seat_moved': return who(names, p.member) + ' 调整到工位 ' + (p.seat || '—') + '，须在新工位重新核验身份';
    case 'session.seat_online': return who(names, p.member) + ' 的工位音视频在线';
    case 'session.seat_reconnecting': return who(names, p.member) + ' 的工位音视频中断，正在重新连接';
    case 'session.seat_gone': return who(names, p.member) + ' 的工位已离开音视频房间';
    case 'session.seat_past_grace': return who(names, p.member) + ' 的工位离开超过宽限时间，主持人可登记离席';
    case 'session.seat_mute': return '主持人' + (p.muted ? '关闭' : '恢复') + '了 ' + who(names, p.member) + ' 的' + (p.kind === 'audio' ? '声音' : '画面');
    case 'review.facts': return '主持人录入了评审所需数据（最高投标限价、下浮率）';
    case 'review.submit': return who(names, p.member) + ' 提交了' + (reviewStages[p.stage] || '评审') + '结果';
    case 'review.reopen_sheet': return '组长退回了 ' + who(names, p.member) + ' 的' + (reviewStages[p.stage] || '') + '评审表：' + (p.reason || '');
    case 'review.initial_concluded': return '组长结束初步评审';
    case 'review.decision': return '评标委员会对 ' + (p.bidder_name || '一名投标人') + ' 作出决定：' + (decisionKinds[(p.decision || {}).kind] || '决定');
    case 'review.note': return '评标委员会对一项提示作出书面说明';
    case 'review.summary': return '组长汇总了评审结果';
    case 'review.reopen': return '组长退回汇总：' + (p.reason || '');
    case 'report.built': return '主持人生成了评标报告';
    case 'report.signed': return who(names, p.member) + (p.kind === 'dissent' ? ' 签署了评标报告，并书面说明不同意见' : ' 签署了评标报告');
    case 'report.refused': return '主持人记录 ' + who(names, p.member) + ' 拒绝签署评标报告且未说明理由（视为同意）';
    case 'report.archived': return '评标报告及签名已归档';
    case 'session.seat_remove': return '主持人将 ' + who(names, p.member) + ' 的工位移出音视频房间（仍是评标委员会成员，可重新加入）';
    case 'inquiry.requested': return groupName(names, p.group) + '组长提出书面' + inquiryKind(p.kind) + '请求，待监督人员审核';
    case 'inquiry.sent': return groupName(names, p.group) + '组长代表评标委员会发出书面' + inquiryKind(p.kind) + '请求（答复期限 ' + fmtTime(p.deadline) + '）';
    case 'inquiry.approved': return '监督人员同意并发出书面' + inquiryKind(p.kind) + '请求';
    case 'inquiry.refused_by_supervisor': return '监督人员未同意发出书面' + inquiryKind(p.kind) + '请求：' + (p.reason || '');
    case 'inquiry.answered': return '投标人已签名答复书面' + inquiryKind(p.kind) + '请求';
  }
  return '会议记录更新';
}

function inquiryKind(k) {
  return { clarification: '澄清', correction: '算术修正确认', below_cost: '低于成本说明' }[k] || '';
}

/** The timeline of events, newest first. */
export function timeline(events, names) {
  if (!events.length) return h('p', { class: 'hint' }, '暂无记录');
  return h('ol', { class: 'timeline', reversed: true },
    [...events].reverse().map((ev) => h('li', { 'data-type': ev.type },
      h('time', {}, fmtTime(ev.at, true)), ' ', eventText(ev, names))));
}

/** The table of who read which bid and when: never the content. */
export function readsTable(reads, names) {
  if (!reads.length) return h('p', { class: 'hint' }, '尚无人查阅投标文件');
  return h('table', { class: 'grid reads' },
    h('thead', {}, h('tr', {}, ['查阅人', '投标文件', '时间（北京时间）', '说明'].map((x) => h('th', {}, x)))),
    h('tbody', {}, reads.map((r) => h('tr', {},
      h('td', {}, r.supervisor ? '监督人员' : who(names, r.reader)),
      h('td', {}, bidLabel(names, r)),
      h('td', {}, fmtClock(r.at, true)),
      h('td', {}, r.supervisor ? '监督调阅：' + (r.reason || '') : '评审查阅')))));
}

// ---- the bid reader ---------------------------------------------------------------------------

/**
 * Fetches path with the session token as a Blob: a frame cannot send the Authorization
 * header, so the page fetches the stream itself. The plaintext is then in this tab's memory
 * only (never in a file or a cache: the answer is no-store).
 */
export async function fetchBlob(path) {
  let resp;
  try {
    resp = await fetch(path, { headers: { Authorization: 'Bearer ' + token() }, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, 'network', '无法连接服务器，请检查网络后重试', null);
  }
  if (!resp.ok) {
    let p = {};
    try {
      p = (await resp.json()).error || {};
    } catch (e) {
      p = {};
    }
    throw new ApiError(resp.status, p.code || 'http_' + resp.status, p.message || '读取失败（HTTP ' + resp.status + '）', null);
  }
  return resp.blob();
}

// ---- video ----------------------------------------------------------------------------------

/**
 * The session's video in box: POST grantPath gives a grant ({grant, role}) for the session's
 * media room, which plays in the room page embedded (/room/room.html?embed=1#grant=…), like
 * the hall's video. A 404 means the session has no audio and video: “本场评标未开启音视频”.
 * start() connects; with publish the room joins at once (the seat's camera). box.dataset.video
 * says where it is: idle, starting, live, off, error.
 */
export function sessionVideo(box, grantPath, { label = '音视频', publish = false } = {}) {
  let frame = null;
  let seq = 0;
  const note = (state, text, ...more) => {
    box.dataset.video = state;
    box.replaceChildren(h('p', { class: 'video-note' }, text), ...more);
  };
  async function start() {
    const my = ++seq;
    stop();
    note('starting', '音视频连接中…');
    let r;
    try {
      r = await api('POST', grantPath);
    } catch (e) {
      if (my !== seq) return;
      if (e.status === 404) note('off', '本场评标未开启音视频');
      else {
        box.dataset.video = 'error';
        box.replaceChildren(problem(e), h('button', { type: 'button', class: 'secondary video-retry', onclick: start }, '重新连接'));
      }
      return;
    }
    if (my !== seq) return;
    const f = h('iframe', {
      src: '/room/room.html?embed=1#grant=' + grantFragment(r.grant), allow: 'camera; microphone; autoplay',
      title: label, class: 'room-frame', 'data-role': r.role || '',
    });
    if (publish) {
      f.addEventListener('load', () => {
        const room = f.contentWindow && f.contentWindow.kaipingRoom;
        if (room && frame === f) room.join();
      }, { once: true });
    }
    frame = f;
    box.dataset.video = 'live';
    box.replaceChildren(f);
  }
  function stop() {
    if (frame) frame.remove();
    frame = null;
  }
  function idle(text, button) {
    seq++;
    stop();
    note('idle', text, button ? h('button', { type: 'button', class: 'secondary video-start', onclick: start }, button) : null);
  }
  return { start, idle, get live() { return !!frame; } };
}
