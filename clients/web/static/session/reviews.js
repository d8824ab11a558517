// reviews.js: each section's review as overseers see it (GET /api/v1/sessions/:id/sections/
// :section/review): its stage, who has not submitted, the ceiling and the drawn 下浮 rate, the
// candidates once summarized. On the host's console it carries the form in which the
// evaluation host enters those facts from the tender's documents and the opening's record
// (PUT …/review/facts); the supervisor's view is read only.
import { api, ApiError, h, okBox } from '/assets/kaiping.js';
import { fenOf, problem, put, run, yuan } from './common.js';

const $ = (id) => document.getElementById(id);

// The states in which sections are reviewed or their facts entered, and the stages' names.
const REVIEWING = ['checking_in', 'in_review', 'signing', 'closed'];
const reviewStages = { initial: '初步评审', detailed: '详细评审', summarized: '已汇总' };
const QUIET = new Set(['review.no_method', 'review.no_record']);
let reviewsSeq = 0; // the latest reading of the reviews: an older one is not drawn

/**
 * Reads each section's review of view.sess and draws its status in #reviews; with host, the
 * facts form too (messages in #reviews-msg).
 */
export async function drawReviews(view, { host = false } = {}) {
  const { sess } = view;
  if (!REVIEWING.includes(sess.state)) {
    put($('reviews'), 'none', () => h('p', { class: 'hint' }, host
      ? '签到开始后，在此录入各标段评审所需的数据并查看评审进度。' : '评审开始后，在此查看各标段的评审进度。'));
    return;
  }
  const my = ++reviewsSeq;
  const secs = sess.groups.flatMap((g) => g.sections.map((s) => ({ ...s, group: g.name })));
  const got = await Promise.all(secs.map((s) => api('GET', view.base + '/sections/' + encodeURIComponent(s.id) + '/review')
    .then((v) => ({ s, v }), (e) => ({ s, e }))));
  if (my !== reviewsSeq) return;
  const key = got.map((x) => (x.e ? [x.s.id, x.e.code] : [x.s.id, x.v.review, x.v.progress, x.v.awaiting, x.v.pending, x.v.sitting]));
  put($('reviews'), JSON.stringify([sess.state, key]), () => got.map((x) => reviewSection(view, x, host)));
}

function reviewSection(view, { s, v, e }, host) {
  const box = h('div', { class: 'review-section', 'data-section': s.id }, h('h3', {}, s.code + ' ' + s.name + '（' + s.group + '）'));
  if (e) {
    // A tender without a method, or a section whose record is not out, is not reviewed here:
    // a fact, not a fault.
    box.append(QUIET.has(e.code) ? h('p', { class: 'hint', 'data-code': e.code }, e.message) : problem(e));
    return box;
  }
  const r = v.review;
  const stage = r.stage === 'summarized' ? 'detailed' : r.stage;
  const rows = [
    ['评审阶段', h('span', { class: 'badge review-stage', 'data-stage': r.stage }, reviewStages[r.stage] || r.stage)],
    ['已提交', '初步评审 ' + (v.progress.initial || 0) + ' / ' + v.sitting + ' 人' +
      (v.method.kind === 'comprehensive' ? '，详细评审 ' + (v.progress.detailed || 0) + ' / ' + v.sitting + ' 人' : '')],
    ['尚未提交' + (reviewStages[stage] || ''), (v.awaiting || []).length ? v.awaiting.join('、') : '—'],
    ['最高投标限价', r.ceiling ? yuan(r.ceiling) + ' 元' : '未录入（无限价时不填）'],
  ];
  const p = v.method.price;
  const drawn = p && p.rule === 'average_base' && (p.downward_choices || []).length;
  if (drawn) rows.push(['下浮率（开标时抽取）', r.downward != null ? pct(r.downward) : '未录入']);
  if (r.summary) rows.push(['中标候选人', (r.summary.result.candidates || []).map((b) => (v.bids.find((x) => x.bidder_id === b) || {}).bidder_name || '—').join('、') || '—']);
  else if (v.pending) rows.push(['说明', v.pending]);
  box.append(h('dl', { class: 'facts' }, rows.map(([k, x]) => [h('dt', {}, k), h('dd', {}, x)])));
  if (!host || r.stage === 'summarized' || !['checking_in', 'in_review'].includes(view.sess.state)) return box;
  const ceiling = h('input', { type: 'text', class: 'facts-ceiling', inputmode: 'decimal', value: r.ceiling ? yuan(r.ceiling).replace(/,/g, '') : '',
    placeholder: '如 12000000.00', 'aria-label': s.code + ' 最高投标限价（元）' });
  const downward = drawn ? h('select', { class: 'facts-downward', 'aria-label': s.code + ' 下浮率' },
    h('option', { value: '' }, '请选择'), p.downward_choices.map((c) => h('option', { value: String(c) }, pct(c)))) : null;
  if (downward && r.downward != null) downward.value = String(r.downward);
  box.append(h('div', { class: 'row' },
    h('label', { class: 'field' }, h('span', {}, '最高投标限价（元）'), ceiling),
    downward ? h('label', { class: 'field' }, h('span', {}, '抽取的下浮率'), downward) : null,
    h('button', { type: 'button', class: 'secondary facts-save', onclick: (ev) => saveFacts(view, s, ceiling, downward, ev.target) }, '保存')));
  return box;
}

/** Basis points as a percentage: 350 → "3.5%". */
function pct(bp) {
  return (bp / 100).toString() + '%';
}

async function saveFacts(view, s, ceiling, downward, button) {
  const text = ceiling.value.trim();
  const body = { ceiling: text ? fenOf(text) : 0 };
  if (downward) body.downward = downward.value ? Number(downward.value) : null;
  await run($('reviews-msg'), async () => {
    if (Number.isNaN(body.ceiling)) throw new ApiError(0, 'page.ceiling', '最高投标限价须为金额（元），最多两位小数');
    await api('PUT', view.base + '/sections/' + encodeURIComponent(s.id) + '/review/facts', body);
    $('reviews-msg').replaceChildren(okBox('已保存 ' + s.code + ' 的评审数据'));
    reviewsSeq++;
    await view.reload();
  }, button);
}
