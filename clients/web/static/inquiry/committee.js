// committee.js: the committee's written requests to bidders, /inquiry/committee.html?session=<id>.
// The group's chair sends them on the committee's behalf while review runs (a clarification,
// an arithmetic correction with the corrected price, a below-cost explanation); every member
// of the group reads them with the bidders' signed answers, and so do the tender's
// supervisors, who approve or refuse each request before it goes out where the centre
// requires it. The page re-reads the list whenever an event of the session arrives.
import { act, api, ApiError, boot, field, fmtTime, fromInput, h, okBox, select } from '/assets/kaiping.js';
import { liveEvents, param, put, stateBadge as sessionBadge } from '/session/common.js';
import { decisionLabels, kindLabels, stateBadge, yuan } from './common.js';

const $ = (id) => document.getElementById(id);
const id = param('session');
const me = await boot(['expert', 'supervisor']);
const supervisor = me && me.roles.includes('supervisor') && !me.roles.includes('expert');
const view = '/api/v1/' + (supervisor ? 'sessions/' : 'expert/sessions/') + encodeURIComponent(id || '');
let drawnFor = '';

if (me && !id) {
  $('page-msg').replaceChildren(h('div', { class: 'notice' }, '请从评标工位或评标会议监督页面进入本页（地址须带 ?session=）'));
} else if (me) {
  start();
}

async function start() {
  if (!await reload()) return;
  liveEvents(id, view, () => reload(), (err) => {
    $('live').textContent = err ? '连接中断，正在重试…' : '实时更新中';
    $('live').className = 'live ' + (err ? 'retry' : 'open');
  });
}

async function reload() {
  const [s, list] = await Promise.all([
    act($('page-msg'), () => api('GET', view)),
    act($('list-msg'), () => api('GET', view + '/inquiries')),
  ]);
  if (!s) return false;
  const g = supervisor ? null : s.groups.find((x) => x.id === s.me.group);
  summary(s, g);
  const chair = g && g.chair === s.me.id && s.state === 'in_review';
  $('send-card').hidden = !chair;
  if (chair && drawnFor !== s.id) {
    drawnFor = s.id;
    await sendForm(g);
  }
  $('list-card').hidden = false;
  if (list) put($('list'), JSON.stringify([list.inquiries, s.state]), () => renderList(list.inquiries, s));
  return true;
}

function summary(s, g) {
  $('summary-card').hidden = false;
  const facts = [['项目', s.tender_code + ' ' + s.tender_title], ['会议状态', sessionBadge(s.state)],
    ['评标结束时间', fmtTime(s.window.end)]];
  if (g) facts.push(['评标小组', g.name], ['我', g.chair === s.me.id ? '组长' : '评标委员会成员']);
  else facts.push(['我', '监督人员']);
  $('summary').replaceChildren(h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    supervisor ? '' : h('p', {}, h('a', { href: '/session/?id=' + encodeURIComponent(s.id) }, '返回评标工位')));
}

// sendForm: the group's sections and the bidders with an opened bid in each.
async function sendForm(g) {
  const bids = await act($('send-msg'), () => api('GET', view + '/bids'));
  const bidders = new Map(); // section → [[bidder, name]]
  for (const b of (bids && bids.bids) || []) {
    const list = bidders.get(b.section_id) || [];
    if (!list.some(([x]) => x === b.bidder_id)) list.push([b.bidder_id, b.bidder_name]);
    bidders.set(b.section_id, list);
  }
  const section = select({ id: 'inq-section' }, g.sections.map((x) => [x.id, x.code + ' ' + x.name]));
  const bidder = select({ id: 'inq-bidder' }, []);
  const fill = () => bidder.replaceChildren(...(bidders.get(section.value) || []).map(([v, n]) => h('option', { value: v }, n)));
  section.addEventListener('change', fill);
  fill();
  const kind = select({ id: 'inq-kind' }, Object.entries(kindLabels));
  const question = h('textarea', { id: 'inq-question', maxlength: '2000' });
  const price = h('input', { id: 'inq-price', type: 'text', inputmode: 'decimal', placeholder: '例如 12340000.00' });
  const priceField = field('修正后的投标报价（元）', price);
  const showPrice = () => { priceField.hidden = kind.value !== 'correction'; };
  kind.addEventListener('change', showPrice);
  showPrice();
  const deadline = h('input', { id: 'inq-deadline', type: 'datetime-local' });
  const send = h('button', { type: 'button', id: 'inq-send' }, '发出');
  send.addEventListener('click', () => act($('send-msg'), async () => {
    const body = { section_id: section.value, bidder_id: bidder.value, kind: kind.value, question: question.value,
      corrected_price: kind.value === 'correction' ? fen(price.value) : 0, deadline: fromInput(deadline.value) };
    if (!body.deadline) throw new ApiError(0, 'page.deadline', '请填写答复期限（北京时间）');
    const q = await api('POST', view + '/inquiries', body);
    question.value = '';
    $('send-msg').replaceChildren(okBox(q.state === 'pending' ? '已提交，待监督人员审核后发出' : '已发出'));
    await reload();
  }, send));
  $('send').replaceChildren(
    h('div', { class: 'row' }, field('标段', section), field('投标人（已开启的投标文件）', bidder), field('类型', kind)),
    field('问题（算术修正：写明修正内容与理由，如“大写金额与小写金额不一致，以大写金额为准”）', question),
    h('div', { class: 'row' }, priceField, field('答复期限（北京时间，不晚于评标结束时间）', deadline)),
    send);
}

// fen reads "12,340,000.00" (元) as fen, exactly (no floating point).
function fen(text) {
  const m = /^\s*(\d[\d,]*)(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) throw new ApiError(0, 'page.price', '修正后的报价须为金额（元），最多两位小数');
  return Number(BigInt(m[1].replace(/,/g, '')) * 100n + BigInt((m[2] || '0').padEnd(2, '0')));
}

function renderList(list, s) {
  if (!list.length) return h('p', { class: 'hint' }, '尚未向投标人发出书面请求');
  return h('div', {}, ...list.map((q) => {
    const box = h('section', { class: 'inquiry', 'data-inquiry': q.id, 'data-state': q.state },
      h('h3', {}, (kindLabels[q.kind] || q.kind) + '：' + q.bidder_name + '（' + q.section_code + '）'),
      h('div', {}, '提出：' + fmtTime(q.created_at) + (q.sent_at ? '，发出：' + fmtTime(q.sent_at) : '') + '，答复期限：' + fmtTime(q.deadline) + ' ',
        stateBadge(q.state)),
      h('pre', { class: 'text' }, q.question));
    if (q.kind === 'correction') box.append(h('div', {}, '修正后的投标报价：' + yuan(q.corrected_price)));
    if (q.review) {
      box.append(h('div', {}, fmtTime(q.review.at) + ' 监督人员' + (q.review.approved ? '同意发出' : '未同意发出：' + q.review.reason)));
    }
    if (q.answer) {
      box.append(h('div', { class: 'answer' }, fmtTime(q.answer.at) + ' 投标人' + (decisionLabels[q.answer.decision] || '') + '（已签名）：',
        h('pre', { class: 'text' }, q.answer.text || '（无文字说明）')));
    }
    if (supervisor && q.state === 'pending' && s.state === 'in_review') box.append(reviewButtons(q));
    return box;
  }));
}

// reasons keeps what the supervisor typed as a refusal's reason, by inquiry, across redraws.
const reasons = new Map();

function reviewButtons(q) {
  const out = h('div', { class: 'msg' });
  const reason = h('input', { type: 'text', class: 'reason', maxlength: '500', value: reasons.get(q.id) || '' });
  reason.addEventListener('input', () => reasons.set(q.id, reason.value));
  const path = '/api/v1/inquiries/' + encodeURIComponent(q.id);
  const approve = h('button', { type: 'button', class: 'approve' }, '同意发出');
  const refuse = h('button', { type: 'button', class: 'danger refuse' }, '不同意');
  approve.addEventListener('click', () => act(out, async () => { await api('POST', path + '/approve'); await reload(); }, approve));
  refuse.addEventListener('click', () => act(out, async () => {
    await api('POST', path + '/refuse', { reason: reason.value });
    await reload();
  }, refuse));
  return h('div', { class: 'controls' }, approve, field('不同意的理由', reason), refuse, out);
}
