// The venue staff's page (场地工作人员): the bookings of a day (today by default) at every
// venue they staff, with the expert expected at each seat.
import { act, api, boot, field, fmtDate, fmtRange, h, serverNow, table } from '/assets/kaiping.js';
import { param, setParam } from './common.js';

const $ = (id) => document.getElementById(id);

const me = await boot(['venue_staff']);
if (me) {
  const day = h('input', { id: 'day', type: 'date', value: param('date') || fmtDate(serverNow()) });
  const btn = h('button', { type: 'submit' }, '查询');
  $('day-form').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    load(day.value, btn);
  } }, field('日期（北京时间）', day), btn));
  await load(day.value, btn);
}

async function load(day, btn) {
  setParam('date', day);
  const res = await act($('bookings'), () => api('GET', '/api/v1/venue/bookings?date=' + encodeURIComponent(day)), btn);
  if (!res) return;
  const rows = res.bookings.map((b) => [b.venue_code, b.seat_code, fmtRange(b.start, b.end),
    b.expert_name || '—', b.expert_code || '—', b.purpose]);
  $('bookings').replaceChildren(
    h('p', {}, day + ' 共 ' + res.bookings.length + ' 个工位预订。'),
    table(['场地编码', '工位', '时间', '专家姓名', '专家编号', '用途'], rows));
}
