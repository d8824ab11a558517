// venue.js: the venue staff's page of an evaluation session (评标工位现场核验),
// /session/venue/?id=<session>: the members seated at their venues, with what an identity
// check compares (name, expert code, employer, the ID number masked but for its first six and
// last four digits), each seat's stage, and 核验通过 per seat, behind a dialog asking the staff
// to say they checked the ID card in person. /session/venue/ lists the sessions seated at
// their venues.
import { api, boot, fmtRange, fmtTime, h, okBox, confirmStep } from '/assets/kaiping.js';
import {
  kindLabel, liveEvents, namesOf, param, places, put, run, sessionList, sessionVideo, stageBadge, stateBadge, timeline,
  venueText,
} from './common.js';

const $ = (id) => document.getElementById(id);
const CHECKING = new Set(['checking_in', 'in_review', 'signing']);

const id = param('id');
const base = '/api/v1/venue/sessions/' + encodeURIComponent(id);
const events = [];
let pl = null;
let video = null;

const me = await boot(['venue_staff']);
if (me) pl = await places();
if (me && !id) listSessions();
else if (me) start();

async function listSessions() {
  $('list-card').hidden = false;
  $('live').hidden = true;
  const res = await run($('page-msg'), () => api('GET', '/api/v1/venue/sessions'));
  if (!res) return;
  sessionList($('sessions'), res.sessions, ['本场地工位', (s) => s.seats.length + ' 个'],
    (s) => '/session/venue/?id=' + encodeURIComponent(s.id), '进入现场核验');
}

async function start() {
  const v = await run($('page-msg'), () => api('GET', base));
  if (!v) return;
  $('session').hidden = false;
  video = sessionVideo($('video'), base + '/media', { label: '本场地工位画面' });
  video.idle('本场地各工位的画面在此显示', '打开工位画面');
  render(v);
  liveEvents(id, base, async (evs) => {
    events.push(...evs);
    const next = await run($('page-msg'), () => api('GET', base));
    if (next) render(next);
  }, (err) => {
    $('live').textContent = err ? '连接中断，正在重试…' : '实时更新中';
    $('live').className = 'live ' + (err ? 'retry' : 'open');
  });
}

function render(v) {
  put($('facts'), JSON.stringify([v.state, v.window]), () => [h('dl', { class: 'facts' },
    h('dt', {}, '项目'), h('dd', {}, v.tender_code + ' ' + v.tender_title),
    h('dt', {}, '会议状态'), h('dd', {}, stateBadge(v.state)),
    h('dt', {}, '评标时间'), h('dd', {}, fmtRange(v.window.start, v.window.end))),
  v.state === 'scheduled' ? h('p', { class: 'hint' }, '主持人开始签到后才能核验。') : null]);
  put($('seats'), JSON.stringify([v.state, v.seats]), () => h('table', { class: 'grid seats' },
    h('thead', {}, h('tr', {}, ['工位', '场地', '姓名', '专家编号', '工作单位', '身份证号码（部分隐藏）', '进度', '工位画面', ''].map((x) => h('th', {}, x)))),
    h('tbody', {}, v.seats.map((s) => h('tr', { 'data-member': s.id, 'data-stage': s.stage },
      h('td', {}, s.seat_code || '—'),
      h('td', {}, venueText(pl, s)),
      h('td', {}, s.name),
      h('td', {}, s.code || kindLabel(s.kind)),
      h('td', {}, s.employer || '—'),
      h('td', { class: 'id-number' }, s.id_number_masked || '—'),
      h('td', {}, stageBadge(s.stage), s.confirmed ? h('div', { class: 'hint' }, '核验于 ' + fmtTime(s.confirmed.at)) : null),
      h('td', {}, h('div', { class: 'video seat', 'data-seat': s.seat_id || '' }, h('span', {}, '工位画面'))),
      h('td', {}, s.stage === 'arrived' && CHECKING.has(v.state)
        ? h('button', { type: 'button', class: 'seat-confirm', onclick: (ev) => confirmSeat(s, ev.target) }, '核验通过')
        : ''))))));
  put($('events'), JSON.stringify([events.length, v.seats.map((s) => s.name)]), () => timeline(events, namesOf(v)));
}

async function confirmSeat(s, button) {
  const ok = await confirmStep({
    title: '核验 ' + s.name + ' 的身份', ok: '已当面核对身份证件，核验通过',
    text: ['请确认：您已在工位 ' + (s.seat_code || '') + ' 当面核对了专家本人及其身份证件原件，姓名为 ' + s.name +
      (s.id_number_masked ? '，证件号码与 ' + s.id_number_masked + ' 一致' : '') + '。',
    '核验通过后专家即可签署承诺书；核验记录将存入审计日志，不能撤回。'],
  });
  if (!ok) return;
  await run($('seats-msg'), async () => {
    const v = await api('POST', base + '/members/' + encodeURIComponent(s.id) + '/confirm', { seat_id: s.seat_id });
    $('seats-msg').replaceChildren(okBox('已核验 ' + s.name + ' 的身份'));
    render(v);
  }, button);
}
