// console.js: the host's console of an evaluation session (评标会议主持台, at the host site),
// /session/console/?id=<session>: every seat across the cities and how far each member is,
// the session's state machine (open check-in, start review, signing, close; suspend, resume,
// void, extend), each step behind a dialog saying what it does, members removed and
// replaced, each section's review (its stage, who has not submitted, and the facts the
// computation needs from the host: the ceiling and the drawn 下浮 rate), who read which bid,
// the evaluation report (building it, recording a refusal to sign, a link to the report page),
// the video wall and the timeline, kept current from the session's events. With ?tender=<tender> it lists the tender's sessions.
import { api, boot, fromInput, h, okBox, serverNow, toInput, confirmStep } from '/assets/kaiping.js';
import { param, put, run, sessionList, sessionVideo } from './common.js';
import { drawCommon, followSession } from './overseer.js';
import { drawReportDesk } from './reportdesk.js';
import { drawReviews } from './reviews.js';

const $ = (id) => document.getElementById(id);

const IRREVERSIBLE = '此操作不能撤回。';

// The steps of the state machine: where each is offered, and what its dialog says.
const steps = [
  { id: 'checkin', path: '/checkin', label: '开始签到', states: ['scheduled'],
    text: '开始签到后，各地场地工作人员可以现场核验专家身份，专家签署承诺书、作出回避声明并推选组长。' + IRREVERSIBLE },
  { id: 'review', path: '/review', label: '开始评审', states: ['checking_in'],
    text: '签到结束，评标委员会开始评审。各组须已到齐、全部完成承诺和回避声明并选出组长。' + IRREVERSIBLE },
  { id: 'signing', path: '/signing', label: '进入报告签署', states: ['in_review'],
    text: '评审结束，评标委员会开始签署评标报告，不能再回到评审。' + IRREVERSIBLE },
  { id: 'close', path: '/close', label: '结束评标会议', states: ['signing'],
    text: '评标报告已签署完毕，结束本次评标会议，各工位退出。' + IRREVERSIBLE },
  { id: 'suspend', path: '/suspend', label: '故障暂停', states: ['checking_in', 'in_review', 'signing'], secondary: true,
    text: '暂停后成员不能操作。须在时限内恢复（开始评审前暂停 2 小时以内，评审中 4 小时以内），逾期只能作废。',
    fields: [{ name: 'reason', label: '暂停原因', type: 'textarea', required: true }] },
  { id: 'resume', path: '/resume', label: '恢复', states: ['suspended'],
    text: '恢复评标会议，回到暂停前的阶段继续。' },
  { id: 'extend', path: '/extend', label: '延长评标时间', states: ['checking_in', 'in_review', 'signing', 'suspended'], secondary: true,
    text: '延长本次评标会议的结束时间，并通知各工位。', fields: [
      { name: 'until', label: '延长至（北京时间）', type: 'datetime-local', required: true },
      { name: 'reason', label: '延长原因', type: 'textarea', required: true }] },
  { id: 'void', path: '/void', label: '作废', states: ['scheduled', 'checking_in', 'in_review', 'signing', 'suspended'], danger: true,
    text: '作废后本次评标委员会解散，已完成的工作全部无效，须重新组建评标委员会。' + IRREVERSIBLE,
    fields: [{ name: 'reason', label: '作废原因', type: 'textarea', required: true }] },
];

let video = null;
let current = null; // the latest view: buttons drawn earlier act on it
const id = param('id');
const tender = param('tender');
const me = await boot(['host']);
if (me && id) {
  if (await followSession(id, draw)) $('session').hidden = false;
} else if (me) {
  listSessions();
}

async function listSessions() {
  $('list-card').hidden = false;
  $('live').hidden = true;
  if (!tender) {
    $('sessions').replaceChildren(h('p', {}, '请从评标会议的链接打开主持台（地址中带有 ?id=…），或从项目的链接打开会议列表（?tender=…）。'));
    return;
  }
  const res = await run($('page-msg'), () => api('GET', '/api/v1/sessions?tender=' + encodeURIComponent(tender)));
  if (!res) return;
  sessionList($('sessions'), res.sessions, null, (s) => '/session/console/?id=' + encodeURIComponent(s.id), '打开主持台');
}

function draw(view) {
  const { sess } = view;
  current = view;
  drawCommon(view, (m, stage) => memberActions(m, stage));
  put($('controls'), sess.state, () => steps.filter((s) => s.states.includes(sess.state)).map((s) =>
    h('button', { type: 'button', id: 'step-' + s.id, class: s.danger ? 'danger' : s.secondary ? 'secondary' : '',
      onclick: (ev) => step(current, s, ev.target) }, s.label)));
  drawMessageTargets(sess);
  drawReviews(view, { host: true });
  drawReportDesk(view, { host: true });
  if (!video) {
    video = sessionVideo($('video'), view.base + '/media', { label: '视频墙' });
    video.idle('各工位的画面在此显示', '打开视频墙');
  }
}

async function step(view, s, button) {
  const fields = s.fields && s.fields.map((f) => (f.name === 'until'
    ? { ...f, value: toInput(new Date(Math.max(new Date(view.sess.window.end).getTime(), serverNow().getTime()) + 3600e3)) } : f));
  const got = await confirmStep({ title: s.label, text: s.text, ok: '确认' + s.label, danger: !!s.danger, fields });
  if (!got) return;
  const body = s.fields ? { ...got } : undefined;
  if (body && body.until) body.until = fromInput(body.until);
  await run($('controls-msg'), async () => {
    await api('POST', view.base + s.path, body);
    $('controls-msg').replaceChildren(okBox('已' + s.label));
    await view.reload();
  }, button);
}

// ---- messages to the seats -----------------------------------------------------------------

$('message-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const to = $('message-to').value;
  const body = { text: $('message-text').value };
  if (to) body.member_id = to;
  await run($('message-msg'), async () => {
    await api('POST', current.base + '/messages', body);
    $('message-text').value = '';
    $('message-msg').replaceChildren(okBox(to ? '已发送给该工位' : '已发送给全部工位'));
  }, $('message-send'));
});

/** The message's addressees: every seat, or one sitting member's (redrawn when they change). */
function drawMessageTargets(sess) {
  const members = sess.members.filter((m) => !m.replaced && !m.left);
  put($('message-to'), members.map((m) => m.id).join(), () => [
    h('option', { value: '' }, '全部工位'),
    ...members.map((m) => h('option', { value: m.id }, m.name + '（' + (m.venue_code || '') + ' ' + (m.seat_code || '') + '）')),
  ]);
}

// ---- the seat in the room: mute, or take it out of the room --------------------------------

async function seatAction(view, m, action, body, done, button) {
  await run($('seats-msg'), async () => {
    await api('POST', view.base + '/groups/' + encodeURIComponent(m.group) + '/seats/' + encodeURIComponent(m.id) + '/' + action, body);
    $('seats-msg').replaceChildren(okBox(done));
    await view.reload();
  }, button);
}

function roomActions(m) {
  if (!m.presence || m.presence.state !== 'online') return [];
  return [
    h('button', { type: 'button', class: 'secondary seat-mute', onclick: (ev) => seatAction(current, m, 'mute',
      { kind: 'audio', muted: true }, '已将 ' + m.name + ' 静音', ev.target) }, '静音'),
    h('button', { type: 'button', class: 'secondary seat-unmute', onclick: (ev) => seatAction(current, m, 'mute',
      { kind: 'audio', muted: false }, '已恢复 ' + m.name + ' 的声音', ev.target) }, '恢复声音'),
    h('button', { type: 'button', class: 'secondary seat-out', onclick: async (ev) => {
      const ok = await confirmStep({ title: '将 ' + m.name + ' 移出音视频房间', ok: '确认移出',
        text: '只断开该工位的音视频连接，不改变其评标委员会成员身份；该工位可以重新加入。要记录成员离席，请用“记录离席”。' });
      if (ok) await seatAction(current, m, 'remove', undefined, '已将 ' + m.name + ' 移出音视频房间', ev.target);
    } }, '移出房间'),
  ];
}

function memberActions(m, stage) {
  const out = [...roomActions(m)];
  if (['arrived', 'confirmed', 'pledged', 'declared'].includes(stage) && !['closed', 'void'].includes(current.sess.state)) {
    out.push(h('button', { type: 'button', class: 'secondary member-remove', onclick: (ev) => remove(current, m, ev.target) }, '记录离席'));
  }
  if (stage === 'recusing' || stage === 'left') {
    out.push(h('button', { type: 'button', class: 'secondary member-replace', onclick: (ev) => replace(current, m, ev.target) }, '递补'));
  }
  return out.length ? h('div', { class: 'row' }, out) : '—';
}

async function remove(view, m, button) {
  const got = await confirmStep({
    title: '记录 ' + m.name + ' 离席', danger: true, ok: '确认离席',
    text: ['记录该成员离席：其已完成的评审工作作废，不得返回本次评标；抽取的专家由系统从抽取序列递补，招标人代表须另行指定。', IRREVERSIBLE],
    fields: [{ name: 'reason', label: '离席原因', type: 'textarea', required: true }],
  });
  if (!got) return;
  await run($('seats-msg'), async () => {
    await api('POST', view.base + '/members/' + encodeURIComponent(m.id) + '/remove', got);
    $('seats-msg').replaceChildren(okBox('已记录 ' + m.name + ' 离席'));
    await view.reload();
  }, button);
}

async function replace(view, m, button) {
  const got = await confirmStep({ title: '为 ' + m.name + ' 递补', ok: '确认递补',
    text: '从本组的抽取序列中递补一名专家并分派工位（递补因故中断时使用）。' });
  if (!got) return;
  await run($('seats-msg'), async () => {
    await api('POST', view.base + '/members/' + encodeURIComponent(m.id) + '/replace');
    $('seats-msg').replaceChildren(okBox('已递补'));
    await view.reload();
  }, button);
}
