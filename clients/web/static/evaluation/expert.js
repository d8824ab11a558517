// The expert's page (评标专家): the draws they were drawn in with a countdown to answer,
// accept or decline, their seat; their calendar of unavailable periods and declared
// relations.
import { mountInbox } from '/assets/inbox.js';
import { act, api, boot, countdown, field, fmtRange, fmtTime, fromInput, h, okBox, table } from '/assets/kaiping.js';
import { badge, catalog, cityName, expertStatus, memberState } from './common.js';

const $ = (id) => document.getElementById(id);
let cat;

const me = await boot(['expert']);
if (me) mountInbox(document.querySelector('header.bar'));
if (me) {
  cat = await catalog().catch(() => ({ cities: new Map(), specialties: [] }));
  await Promise.all([loadDraws(), loadProfile()]);
}

async function loadDraws() {
  const res = await act($('draws'), () => api('GET', '/api/v1/expert/draws'));
  if (!res) return;
  if (!res.draws.length) {
    $('draws').replaceChildren(h('p', { class: 'hint' }, '目前没有抽取通知。'));
    return;
  }
  $('draws').replaceChildren(...res.draws.map(drawCard));
}

function drawCard(d) {
  const out = h('div');
  const card = h('div', { class: 'draw', 'data-draw': d.draw_id, 'data-state': d.state });
  const facts = [
    ['项目', d.tender_code + ' ' + d.tender_title],
    ['评标时间', fmtRange(d.session.start, d.session.end)],
    ['状态', badge(d.state, memberState)],
  ];
  if (d.seat) {
    facts.push(['评标工位', h('span', { class: 'seat' }, cityName(cat, d.seat.city) + ' ' + (d.seat.venue_name || d.seat.venue_code) +
      ' · 工位 ' + d.seat.seat_code + (d.seat.host ? '（主场）' : '（副场）'))]);
    facts.push(['地址', d.address || '—']);
  } else if (d.state === 'pending' || d.state === 'accepted') {
    facts.push(['评标工位', '待主持人分派']);
  }
  if (d.state === 'pending') {
    const left = h('span', { class: 'countdown' });
    const accept = h('button', { type: 'button', class: 'accept' }, '确认参加');
    const reason = h('input', { class: 'decline-reason', size: 24, placeholder: '拒绝原因（可选）' });
    const decline = h('button', { type: 'button', class: 'danger decline' }, '拒绝参加');
    const answer = async (verb, body, btn) => {
      const r = await act(out, () => api('POST', '/api/v1/expert/draws/' + d.draw_id + '/' + verb, body), btn);
      if (!r) return;
      await loadDraws();
      $('draws-msg').replaceChildren(okBox(verb === 'accept' ? '已确认参加，请按时到工位签到。' : '已拒绝，主持人将按抽取序列递补。'));
    };
    accept.addEventListener('click', () => answer('accept', null, accept));
    decline.addEventListener('click', () => answer('decline', { reason: reason.value }, decline));
    facts.push(['应答截止', [fmtTime(d.respond_by), ' ', left]]);
    card.append(h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('div', { class: 'row' }, accept, reason, decline), out);
    // Past the deadline the server refuses; the buttons say so first.
    countdown(left, d.respond_by, () => {
      accept.disabled = true;
      decline.disabled = true;
    });
  } else {
    if (d.responded_at) facts.push(['应答时间', fmtTime(d.responded_at)]);
    if (d.reason) facts.push(['说明', d.reason]);
    card.append(h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
  }
  return h('section', { class: 'card' }, card);
}

async function loadProfile() {
  const p = await act($('profile'), () => api('GET', '/api/v1/expert/me'));
  if (!p) return;
  $('profile').replaceChildren(h('dl', { class: 'facts' }, [
    ['专家编号', p.code], ['姓名', p.name], ['工作单位', p.employer], ['职称', (p.titles || []).join('、')],
    ['评标专业', p.specialties.map((c) => {
      const s = cat.specialties.find((x) => x.code === c);
      return c + (s ? ' ' + s.name : '');
    }).join('；')],
    ['所在城市', cityName(cat, p.city)], ['状态', expertStatus[p.status] || p.status],
    ['评标经历', p.history.length + ' 次'],
  ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
  renderCalendar(p.unavailability);
  renderRelations(p.relations);
}

function renderCalendar(periods) {
  const out = h('div');
  $('calendar').replaceChildren(table(['开始', '结束', '说明', ''], periods.map((u) => [
    fmtTime(u.start), fmtTime(u.end), u.note || '',
    h('button', { type: 'button', class: 'secondary', onclick: async (ev) => {
      const r = await act(out, async () => {
        await api('DELETE', '/api/v1/expert/unavailability/' + u.id);
        return true;
      }, ev.target);
      if (r) await loadProfile();
    } }, '撤回'),
  ])), out);
  const start = h('input', { id: 'unavailable-start', type: 'datetime-local' });
  const end = h('input', { id: 'unavailable-end', type: 'datetime-local' });
  const note = h('input', { id: 'unavailable-note', size: 20 });
  const btn = h('button', { type: 'submit' }, '申报');
  const msg = h('div');
  $('calendar-form').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await act(msg, () => api('POST', '/api/v1/expert/unavailability', {
      start: fromInput(start.value) || null, end: fromInput(end.value) || null, note: note.value,
    }), btn);
    if (r) await loadProfile();
  } }, field('开始（北京时间）', start), field('结束（北京时间）', end), field('说明', note), btn), msg);
}

function renderRelations(relations) {
  $('relations').replaceChildren(table(['单位', '关系', '申报时间'],
    relations.map((r) => [r.organisation, r.kind, fmtTime(r.created_at)])));
  const org = h('input', { id: 'relation-org', size: 30 });
  const kind = h('input', { id: 'relation-kind', size: 16, placeholder: '如：近亲属任职' });
  const btn = h('button', { type: 'submit' }, '申报');
  const msg = h('div');
  $('relation-form').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await act(msg, () => api('POST', '/api/v1/expert/relations', { organisation: org.value, kind: kind.value }), btn);
    if (r) await loadProfile();
  } }, field('关联单位', org), field('关联关系', kind), btn), msg);
}
