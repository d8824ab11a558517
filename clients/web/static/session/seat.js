// seat.js: the expert's seat in an evaluation session (评标工位), /session/?id=<session>.
// Check-in in the order the law sets: the venue staff's identity check at the seat, the
// integrity pledge signed in the browser with the expert's own key (pledge.js), the 回避
// declaration, the chair vote; then the bids of the group's sections, read in the browser,
// and the request for more time. Without ?id= it lists the expert's sessions.
//
// The page re-reads the session whenever an event arrives (liveEvents), and redraws only the
// parts whose facts changed, so what the expert is typing or has chosen stays.
import { mountInbox } from '/assets/inbox.js';
import { api, ApiError, boot, field, fmtRange, fmtTime, h, okBox, table, confirmStep } from '/assets/kaiping.js';
import {
  bidKind, places, put, seatText as seatOf, sessionList, fetchBlob, kindLabel, liveEvents, namesOf, param, run, sessionVideo,
  sitting, stageBadge, stageOf, stateBadge, timeline,
} from './common.js';
import { sha256Hex, signPledge } from './pledge.js';

const $ = (id) => document.getElementById(id);
const RUNNING = new Set(['checking_in', 'in_review', 'signing']);

const id = param('id');
const base = '/api/v1/expert/sessions/' + encodeURIComponent(id);
const drawn = {}; // the key each part was last drawn for
const events = [];
let sess = null;
let video = null;
let videoOn = false;
let openURL = ''; // the object URL of the bid being read
let pledgeText = null; // GET /api/v1/expert/pledge, once read
let pl = null; // venues and cities, once read

const me = await boot(['expert']);
if (me) mountInbox(document.querySelector('header.bar'));
if (me) pl = await places();
if (me && !id) listSessions();
else if (me) start();

async function listSessions() {
  $('list-card').hidden = false;
  $('live').hidden = true;
  const res = await run($('page-msg'), () => api('GET', '/api/v1/expert/sessions'));
  if (!res) return;
  sessionList($('sessions'), res.sessions, ['我的工位', (s) => seatText(s.me)], (s) => '/session/?id=' + encodeURIComponent(s.id), '进入评标工位');
}

function seatText(m) {
  return seatOf(pl, m);
}

async function start() {
  const first = await run($('page-msg'), () => api('GET', base));
  if (!first) return;
  $('seat').hidden = false;
  $('inquiries-link').href = '/inquiry/committee.html?session=' + encodeURIComponent(id);
  video = sessionVideo($('video'), base + '/media', { label: '评标工位音视频', publish: true });
  render(first);
  liveEvents(id, base, async (evs) => {
    events.push(...evs);
    await reload();
  }, (err) => {
    $('live').textContent = err ? '连接中断，正在重试…' : '实时更新中';
    $('live').className = 'live ' + (err ? 'retry' : 'open');
  });
}

async function reload() {
  const s = await run($('page-msg'), () => api('GET', base));
  if (s) render(s);
}

// part redraws one part of the page when its key changed.
function part(name, key, draw) {
  if (drawn[name] === key) return;
  drawn[name] = key;
  draw();
}

function myGroup() {
  return sess.groups.find((g) => g.id === sess.me.group) || { votes: [], extension_requests: [], sections: [] };
}

function render(s) {
  sess = s;
  const m = s.me;
  const stage = stageOf(m);
  const g = myGroup();
  put($('summary'), JSON.stringify([s.state, s.window, s.suspension, s.end_reason, m, g.chair]), () => summary(s, m, stage, g));
  part('checkin', s.state + stage, () => checkin(s, m, stage));
  part('pledge', stage + (m.pledge ? m.pledge.at : ''), () => pledge(m, stage));
  part('declare', stage, () => declare(m, stage));
  const ready = s.members.filter((x) => x.group === m.group && sitting(x) && stageOf(x) === 'declared').map((x) => x.id);
  part('vote', JSON.stringify([s.state, stage, g.chair, g.vote_round, g.votes, ready]), () => vote(s, m, stage, g));
  part('bids', String(stage === 'declared' && RUNNING.has(s.state)), () => bids(stage));
  part('extension', JSON.stringify([s.state, stage, g.extension_requests]), () => extension(s, stage, g));
  const wantVideo = RUNNING.has(s.state) || s.state === 'suspended';
  if (wantVideo !== videoOn) {
    videoOn = wantVideo;
    if (wantVideo) video.start();
    else video.idle(s.state === 'scheduled' ? '签到开始后开启工位音视频' : '评标会议已结束，音视频已关闭');
  }
  put($('events'), JSON.stringify([events.length, s.members.map((x) => x.name)]), () => timeline(events, namesOf(s)));
}

function summary(s, m, stage, g) {
  const facts = [
    ['项目', s.tender_code + ' ' + s.tender_title],
    ['会议状态', stateBadge(s.state)],
    ['评标时间', fmtRange(s.window.start, s.window.end)],
    ['评标小组', g.name + (g.sections.length ? '（' + g.sections.map((x) => x.code + ' ' + x.name).join('、') + '）' : '')],
    ['我的工位', seatText(m)],
    ['我的进度', stageBadge(stage)],
  ];
  if (g.chair) facts.push(['组长', (s.members.find((x) => x.id === g.chair) || {}).name || '—']);
  if (['in_review', 'signing', 'closed'].includes(s.state) && sitting(m) && stage === 'declared') {
    facts.push(['评审', h('a', { id: 'review-link', href: '/session/review/?id=' + encodeURIComponent(s.id) }, '进入评审与打分')]);
  }
  if (['signing', 'closed'].includes(s.state) && sitting(m)) {
    facts.push(['评标报告', h('a', { id: 'report-link', href: '/session/report/?id=' + encodeURIComponent(s.id) },
      s.state === 'signing' ? '查阅并签署评标报告' : '查阅评标报告')]);
  }
  const out = [h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))];
  if (s.suspension) {
    out.push(h('div', { class: 'notice', role: 'status' }, '评标会议已暂停：' + s.suspension.reason +
      '。请留在工位等待主持人恢复（最迟 ' + fmtTime(s.suspension.limit) + '）。'));
  }
  if (s.state === 'void') out.push(h('div', { class: 'error' }, '评标会议已作废：' + (s.end_reason || '')));
  return out;
}

function checkin(s, m, stage) {
  let body;
  if (stage === 'awaiting') body = h('p', {}, '您是递补专家：请先在“我的抽取通知”中确认参加，再到分派的工位签到。');
  else if (stage === 'arrived') {
    body = s.state === 'scheduled'
      ? h('p', { class: 'status waiting' }, '签到尚未开始。请携带身份证件按时到工位 ' + (m.seat_code || '') + ' 就座。')
      : h('p', { class: 'status waiting' }, '请在工位 ' + (m.seat_code || '') + ' 就座，等待场地工作人员当面核验您的身份证件。');
  } else if (m.confirmed) body = okBox('身份已于 ' + fmtTime(m.confirmed.at, true) + ' 由场地工作人员现场核验');
  else body = h('p', {}, stageBadge(stage));
  $('checkin').replaceChildren(body);
}

async function pledge(m, stage) {
  if (m.pledge) {
    $('pledge').replaceChildren(okBox('您已于 ' + fmtTime(m.pledge.at, true) + ' 签署评标承诺书'));
    return;
  }
  if (!pledgeText) {
    pledgeText = await run($('pledge-msg'), () => api('GET', '/api/v1/expert/pledge'));
    if (!pledgeText) return;
  }
  const out = [h('pre', { class: 'pledge-text', id: 'pledge-text' }, pledgeText.text)];
  if (stage === 'confirmed') {
    out.push(
      h('p', { class: 'hint' }, '请用您登录所用数字证书的私钥签署。签名在本浏览器内完成，私钥文件只在本机读取，不会上传；',
        '浏览器只支持 ECDSA P-256 证书，SM2 证书请使用交易中心的 kaiping 工具签署。'),
      h('div', { class: 'row' },
        field('私钥文件（PKCS#8 PEM）', h('input', { id: 'pledge-key', type: 'file', accept: '.pem,.key' })),
        field('数字证书文件（PEM）', h('input', { id: 'pledge-cert', type: 'file', accept: '.pem,.crt,.cer' })),
        h('button', { id: 'pledge-sign', type: 'button', onclick: (ev) => sign(ev.target) }, '签署承诺书')));
  } else if (stage === 'arrived' || stage === 'awaiting') {
    out.push(h('p', { class: 'hint' }, '身份核验后方可签署。'));
  }
  $('pledge').replaceChildren(...out);
}

async function sign(button) {
  await run($('pledge-msg'), async () => {
    const key = $('pledge-key').files[0];
    const cert = $('pledge-cert').files[0];
    if (!key || !cert) throw new ApiError(0, 'page.files', '请选择私钥文件和数字证书文件');
    // The text read is the text signed: its digest must be the one the server holds.
    if (await sha256Hex(pledgeText.text) !== pledgeText.digest) {
      throw new ApiError(0, 'page.pledge_text', '承诺书文本校验失败，请刷新页面后重试');
    }
    const message = 'KAIPING-PLEDGE-V1\n' + sess.id + '\n' + sess.me.id + '\n' + pledgeText.digest + '\n';
    const signed = await signPledge(await key.text(), await cert.text(), message);
    const s = await api('POST', base + '/pledge', { digest: pledgeText.digest, ...signed });
    $('pledge-msg').replaceChildren(okBox('承诺书已签署'));
    render(s);
  }, button);
}

function declare(m, stage) {
  let body;
  if (stage === 'pledged') {
    const reason = h('textarea', { id: 'declare-reason', placeholder: '如：本人配偶在投标人处任职' });
    const reasonField = field('回避原因', reason);
    reasonField.hidden = true;
    const choose = (ev) => { reasonField.hidden = ev.target.value !== 'conflict'; };
    body = [
      h('p', {}, '请如实声明您与本项目的投标人是否存在利害关系。'),
      h('label', { class: 'check' }, h('input', { type: 'radio', name: 'declare', value: 'none', id: 'declare-none', checked: true, onchange: choose }),
        '本人与投标人不存在利害关系，无须回避'),
      h('br'),
      h('label', { class: 'check' }, h('input', { type: 'radio', name: 'declare', value: 'conflict', id: 'declare-conflict', onchange: choose }),
        '本人存在应当回避的情形，申请回避'),
      reasonField,
      h('div', { class: 'row' }, h('button', { id: 'declare-submit', type: 'button', onclick: (ev) => submitDeclaration(ev.target) }, '提交回避声明')),
    ];
  } else if (m.declared && !m.declared.conflict) body = okBox('您已于 ' + fmtTime(m.declared.at, true) + ' 声明无须回避');
  else if (m.declared) body = h('div', { class: 'notice' }, '您已声明回避（' + m.declared.reason + '），不再参与本次评标。');
  else if (stage === 'replaced' || stage === 'left') body = h('div', { class: 'notice' }, '您已退出本次评标委员会。');
  else body = h('p', { class: 'hint' }, '签署承诺书后作出回避声明。');
  $('declare').replaceChildren(...[body].flat());
}

async function submitDeclaration(button) {
  const conflict = $('declare-conflict').checked;
  const reason = $('declare-reason').value.trim();
  if (conflict) {
    if (!reason) {
      $('declare-msg').replaceChildren(h('div', { class: 'error', role: 'alert' }, '声明回避须写明原因'));
      return;
    }
    const ok = await confirmStep({
      title: '确认声明回避', danger: true, ok: '确认回避',
      text: ['声明回避后，您将立即退出本次评标委员会，由系统从抽取序列中递补其他专家。', '此操作不能撤回。回避原因：' + reason],
    });
    if (!ok) return;
  }
  await run($('declare-msg'), async () => {
    const s = await api('POST', base + '/declaration', { conflict, reason });
    $('declare-msg').replaceChildren(okBox(conflict ? '已声明回避' : '已声明无须回避'));
    render(s);
  }, button);
}

function vote(s, m, stage, g) {
  const out = [];
  const name = (id) => (s.members.find((x) => x.id === id) || {}).name || '—';
  if (g.chair) {
    out.push(okBox('本组组长：' + name(g.chair) + (g.chaired_at ? '（' + fmtTime(g.chaired_at) + ' 选出）' : '')));
  } else if (s.state !== 'checking_in') {
    out.push(h('p', { class: 'hint' }, '签到期间推选组长。'));
  } else if (stage !== 'declared') {
    out.push(h('p', { class: 'hint' }, '完成承诺和回避声明后参加推选。'));
  } else {
    if (g.vote_round > 1) out.push(h('div', { class: 'notice' }, '上一轮无人获得过半数票，现进行第 ' + g.vote_round + ' 轮推选。'));
    const mine = g.votes.find((v) => v.round === g.vote_round && v.voter === m.id);
    if (mine) {
      out.push(okBox('您已在第 ' + g.vote_round + ' 轮推选 ' + name(mine.candidate) + '，等待其他成员投票'));
    } else {
      const cands = s.members.filter((x) => x.group === m.group && sitting(x) && stageOf(x) === 'declared' &&
        !(s.government_procurement && x.kind === 'representative'));
      out.push(h('p', {}, '请推选一名已完成承诺和回避声明的本组成员担任组长（每轮一票，获过半数票者当选）：'),
        h('div', { class: 'candidates' }, cands.map((x) => h('label', { class: 'check candidate' },
          h('input', { type: 'radio', name: 'candidate', value: x.id }),
          x.name + '（' + kindLabel(x.kind) + (x.id === m.id ? '，本人' : '') + '）'))),
        h('div', { class: 'row' }, h('button', { id: 'vote-submit', type: 'button', onclick: (ev) => castVote(ev.target) }, '投票')));
      if (s.government_procurement) out.push(h('p', { class: 'hint' }, '政府采购项目中，采购人代表不得担任组长。'));
    }
  }
  $('vote').replaceChildren(...out);
}

async function castVote(button) {
  const chosen = document.querySelector('input[name=candidate]:checked');
  if (!chosen) {
    $('vote-msg').replaceChildren(h('div', { class: 'error', role: 'alert' }, '请选择被推选人'));
    return;
  }
  await run($('vote-msg'), async () => {
    const s = await api('POST', base + '/chair-votes', { candidate: chosen.value });
    $('vote-msg').replaceChildren(okBox('已投票'));
    render(s);
  }, button);
}

async function bids(stage) {
  closeReader();
  if (stage !== 'declared' || !RUNNING.has(sess.state)) {
    $('bids').replaceChildren(h('p', { class: 'hint' }, '完成身份核验、承诺和回避声明后，评标会议进行期间可以查阅本组评审标段的投标文件。'));
    return;
  }
  const res = await run($('bids-msg'), () => api('GET', base + '/bids'));
  if (!res) {
    $('bids').replaceChildren();
    return;
  }
  $('bids').replaceChildren(
    h('p', { class: 'hint' }, '每次查阅都会记录（查阅人、文件、时间），监督人员可见；文件内容只在本页面内存中打开，不保存到本机。'),
    table(['投标人', '文件', '大小', ''], res.bids.map((b) => [b.bidder_name, bidKind(b.kind) + (b.file_name ? '：' + b.file_name : ''),
      b.size ? Math.ceil(b.size / 1024) + ' KB' : '—',
      h('button', { type: 'button', class: 'secondary bid-open', 'data-envelope': b.id, onclick: (ev) => openBid(b, ev.target) }, '阅读')])));
}

function closeReader() {
  if (openURL) URL.revokeObjectURL(openURL);
  openURL = '';
  $('reader').replaceChildren();
}

window.addEventListener('pagehide', closeReader);

async function openBid(b, button) {
  await run($('bids-msg'), async () => {
    const blob = await fetchBlob(base + '/bids/' + encodeURIComponent(b.id));
    closeReader();
    // The type is the page's choice, not the file's: only a PDF goes into a frame, so a bid
    // can never become a page of this origin.
    const type = (b.content_type || blob.type || '').split(';')[0].trim().toLowerCase();
    let view;
    if (type === 'application/pdf') {
      openURL = URL.createObjectURL(new Blob([blob], { type: 'application/pdf' }));
      view = h('iframe', { class: 'bid-frame', src: openURL, title: b.bidder_name + ' ' + bidKind(b.kind) });
    } else if (type.startsWith('text/') || type === 'application/json') {
      view = h('pre', { class: 'bid-text' }, await blob.text());
    } else {
      openURL = URL.createObjectURL(new Blob([blob], { type: 'application/octet-stream' }));
      view = h('p', {}, '该文件不能在浏览器中直接显示：',
        h('a', { href: openURL, download: b.file_name || b.bidder_name + '-' + bidKind(b.kind) }, '保存到本机后查看'));
    }
    $('reader').replaceChildren(h('div', { class: 'row reader-head' },
      h('strong', {}, b.bidder_name + ' · ' + bidKind(b.kind)),
      h('button', { type: 'button', class: 'secondary reader-close', onclick: closeReader }, '关闭')), view);
  }, button);
}

function extension(s, stage, g) {
  const mine = g.extension_requests[0];
  let body;
  if (mine) body = okBox('您已于 ' + fmtTime(mine.at) + ' 申请延长评标时间：' + mine.reason);
  else if (stage !== 'declared' || !RUNNING.has(s.state)) body = h('p', { class: 'hint' }, '评标期间，认为评标时间不够时可以申请；超过三分之一的成员申请时，主持人应当延长。');
  else {
    body = [
      h('p', { class: 'hint' }, '超过三分之一的成员申请时，主持人应当延长评标时间（《招标投标法实施条例》第四十八条）。'),
      h('div', { class: 'row' }, field('理由', h('textarea', { id: 'extension-reason' })),
        h('button', { id: 'extension-submit', type: 'button', class: 'secondary', onclick: (ev) => askExtension(ev.target) }, '申请延长')),
    ];
  }
  $('extension').replaceChildren(...[body].flat());
}

async function askExtension(button) {
  await run($('extension-msg'), async () => {
    const s = await api('POST', base + '/extension-requests', { reason: $('extension-reason').value });
    $('extension-msg').replaceChildren(okBox('已提出申请'));
    render(s);
  }, button);
}
