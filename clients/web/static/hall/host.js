// The host's console (主持人控制台): the hall's state with a button for each move the host
// makes (open check-in, open the decrypt window for a length, publish the record, ask for
// confirmations, close), attendance, every bidder's envelopes as they are decrypted, the
// verification queue, the record, and the objections with an answer box. Supervisors and
// admins see the same board without the buttons. The host streams the hall's live video
// from here (开始直播, the camera and microphone of this computer); a supervisor watches it
// (观看直播). It updates over the live connection.
import { act, api, boot, confirmStep, field, fmtRange, fmtTime, h, okBox, table } from '/assets/kaiping.js';
import {
  $, chooseHall, envBadge, followHall, hallOf, kindLabel, recordTable, renderHead, stateLabel,
} from './common.js';
import { hallCountdown, startHallClock } from './live.js';
import { hallVideo } from './media.js';

// The host's moves: the state each leads to, its button, and the state it starts from.
const moves = [
  { to: 'checking_in', label: '开始签到', from: 'sealed' },
  { to: 'decrypting', label: '开启解密', from: 'checking_in' },
  { to: 'published', label: '公布开标记录', from: 'decrypting' },
  { to: 'confirming', label: '开始确认', from: 'published' },
  { to: 'closed', label: '结束开标', from: 'confirming' },
];

startHallClock($('hall-clock'));
const me = await boot(['host', 'supervisor', 'admin']);
const hall = hallOf();
const names = new Map(); // bidder ID → name, for the log
const drafts = new Map(); // objection ID → the answer being typed
let view = null;
let shownRecord = '';
let shownObjections = '';
let video = null; // the hall's live video: the host streams it, a supervisor watches it
let hosting = false; // the host streams; a supervisor only watches

if (me && !hall) {
  $('choose').hidden = false;
  chooseHall($('choose'), '/hall/host.html');
} else if (me) {
  for (const id of ['hall', 'controls', 'status', 'events']) $(id).hidden = false;
  if (me.roles.includes('host')) renderMoves();
  if (me.roles.includes('host') || me.roles.includes('supervisor')) startMedia(me.roles.includes('host'));
  followHall(hall.path, hall.path + '/board', names, (v) => {
    view = v;
    render();
  });
}

function startMedia(host) {
  hosting = host;
  $('media').hidden = false;
  $('media-start').textContent = host ? '开始直播' : '观看直播';
  $('media-stop').textContent = host ? '结束直播' : '停止观看';
  video = hallVideo($('video'), hall.path, { onChange: renderMedia });
  $('media-start').addEventListener('click', () => video.start());
  $('media-stop').addEventListener('click', () => video.stop());
  renderMedia();
}

function renderMedia() {
  const on = video.streaming;
  $('media-start').disabled = !video.live || on;
  $('media-start').hidden = on;
  $('media-stop').hidden = !on;
  $('media-hint').textContent = !video.live ? '签到开始至开标结束期间可以直播'
    : on && video.roomPhase === 'joined' ? (hosting ? '直播中：投标人和监督人员可以看到您的画面' : '正在观看主持人直播') : '';
}

function renderMoves() {
  const minutes = h('input', { id: 'window-minutes', type: 'number', min: 5, max: 120, step: 1, value: 30 });
  $('moves').replaceChildren(...moves.map((m) => {
    const b = h('button', { id: 'to-' + m.to, type: 'button', disabled: true, class: m.to === 'closed' ? 'secondary' : null,
      onclick: () => move(m, b) }, m.label);
    return m.to === 'decrypting' ? h('span', { class: 'row' }, field('解密时长（分钟）', minutes), b) : b;
  }));
}

// What each irreversible move asks before it is sent: what it does and who is still missing,
// from the board the page already shows. The server refuses a move its rule says is too early
// (hall.checkin_running, hall.confirm_period); this only makes the host look first.
const asks = {
  decrypting: (v) => ({
    title: '开启解密', text: '此操作不可撤销：开启后签到结束，未签到的投标人不能再签到和解密，其投标文件按未解密处理。',
    missingLabel: '尚未签到的投标人', missing: v.board.filter((b) => !b.checked_in_at).map((b) => b.bidder_name),
    allDone: '所有投标人均已签到。', ok: '确认开启解密', danger: true,
  }),
  closed: (v) => ({
    title: '结束开标', text: '此操作不可撤销：结束后不再接受确认和异议，开标记录定稿。',
    missingLabel: '尚未确认开标记录的投标人', missing: v.board.filter((b) => !b.confirmed_at).map((b) => b.bidder_name),
    allDone: '所有投标人均已确认开标记录。', ok: '确认结束开标', danger: true,
  }),
};

async function move(m, button) {
  if (asks[m.to] && view && (await confirmStep(asks[m.to](view))) === null) return;
  const body = { to: m.to };
  if (m.to === 'decrypting') body.window_minutes = Number($('window-minutes').value);
  const st = await act($('control-msg'), () => api('POST', hall.path + '/transitions', body), button);
  if (st) $('control-msg').replaceChildren(okBox('开标大厅已进入「' + (stateLabel[st.state] || st.state) + '」'));
  render();
}

function render() {
  const v = view;
  renderHead($('head'), v);
  if (video) video.update(v.state);
  for (const m of moves) {
    const b = $('to-' + m.to);
    if (b) b.disabled = v.state !== m.from;
  }
  $('times').replaceChildren(
    h('dt', {}, '投标截止'), h('dd', {}, fmtTime(v.deadline, true)),
    h('dt', {}, '解密时间'), h('dd', {}, fmtRange(v.window_opens_at, v.window_closes_at, true)),
    h('dt', {}, '确认截止'), h('dd', {}, fmtTime(v.confirm_ends_at, true)));
  const cd = $('countdown');
  if (v.state === 'decrypting' && v.window_closes_at) hallCountdown(cd, v.window_closes_at, '解密时间已到');
  else if (v.state === 'confirming' && v.confirm_ends_at) hallCountdown(cd, v.confirm_ends_at, '确认时间已到');
  else {
    clearInterval(Number(cd.dataset.timer));
    cd.textContent = '';
  }
  renderBoard(v);
  renderRecord(v);
  renderObjections(v.objections || []);
}

function renderBoard(v) {
  for (const b of v.board) names.set(b.bidder_id, b.bidder_name);
  const att = $('attendance');
  att.textContent = '已签到 ' + v.checked_in + ' / ' + v.board.length + ' 家 · 已解密 ' + v.decrypted + ' / ' + v.envelopes + ' 份投标文件';
  att.dataset.checkedIn = String(v.checked_in);
  att.dataset.decrypted = String(v.decrypted);
  const rows = v.board.map((b) => [
    b.bidder_name,
    b.checked_in_at ? fmtTime(b.checked_in_at, true) : '未签到',
    h('span', {}, ...b.envelopes.map((e) => h('span', { class: 'env', 'data-kind': e.kind }, (kindLabel[e.kind] || e.kind) + ' ', envBadge(e), ' '))),
    b.confirmed_at ? '已确认 ' + fmtTime(b.confirmed_at, true) : '—',
  ]);
  $('board').replaceChildren(table(['投标人', '签到', '投标文件', '确认开标记录'], rows, (i) => ({
    'data-bidder': v.board[i].bidder_id, 'data-checked-in': v.board[i].checked_in_at ? 'yes' : 'no',
    'data-confirmed': v.board[i].confirmed_at ? 'yes' : 'no',
  })));
  const q = v.queue;
  $('queue').textContent = '验证队列（本服务器）：等待 ' + q.waiting + '，验证中 ' + q.verifying + '，待存储恢复后重试 ' + (q.retrying || 0) +
    '，容量 ' + q.capacity + '，并行 ' + q.workers;
  // Why the window does not open or end: object storage fails (opening/hall_storage.go).
  const s = $('storage');
  s.textContent = (v.storage && v.storage.notice) || '';
  s.hidden = !s.textContent;
}

function renderRecord(v) {
  if (!v.record) return;
  $('record').hidden = false;
  if (shownRecord !== v.record.digest) {
    shownRecord = v.record.digest;
    $('record-body').replaceChildren(recordTable(v.record));
  }
}

// Drawn again only when the objections changed, so that an answer being typed stays.
function renderObjections(list) {
  const key = JSON.stringify(list.map((o) => [o.id, o.answered_at]));
  if (key === shownObjections) return;
  shownObjections = key;
  $('objections-card').hidden = list.length === 0;
  $('objections').replaceChildren(...list.map((o) => {
    const head = h('div', {}, fmtTime(o.raised_at, true) + ' ' + o.bidder_name + '：' + o.text);
    if (o.answered_at) {
      return h('div', { class: 'objection', 'data-objection': o.id, 'data-answered': 'yes' }, head,
        h('div', { class: 'answer' }, fmtTime(o.answered_at, true) + ' 答复：' + o.answer));
    }
    if (!me.roles.includes('host')) {
      return h('div', { class: 'objection', 'data-objection': o.id }, head, h('div', { class: 'waiting' }, '等待主持人答复'));
    }
    const box = h('textarea', { class: 'answer-text', maxlength: 2000, value: drafts.get(o.id) || '',
      oninput: (e) => drafts.set(o.id, e.target.value) });
    const btn = h('button', { type: 'button', class: 'answer-btn', onclick: () => answer(o, box, btn) }, '答复');
    return h('div', { class: 'objection', 'data-objection': o.id }, head, h('div', { class: 'row' }, field('答复内容', box), btn));
  }));
}

async function answer(o, box, button) {
  const done = await act($('answer-msg'), () => api('POST', hall.path + '/objections/' + encodeURIComponent(o.id) + '/answer', { answer: box.value }), button);
  if (done) {
    drafts.delete(o.id);
    $('answer-msg').replaceChildren(okBox('已答复 ' + o.bidder_name + ' 的异议'));
  }
}
