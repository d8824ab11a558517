// review.js: a member's review and scoring of the group's sections (评审与打分),
// /session/review/?id=<session>[&section=<section>]. The initial review (初步评审) is a grid of
// bids × items, 合格 or 不合格 with the reason; the detailed review (详细评审) goes bid by bid,
// item by item, with the item's maximum, whether it is objective, the score and the page of
// the bid it rests on, the bid open beside it. Every change is saved as a draft as the member
// goes (PUT …/review/marks, debounced) and the sheet is submitted once complete. The chair
// also sees the committee's panel: who has not submitted, concluding the initial review, the
// committee's decisions on single bids, the warnings to settle before the summary, handing a
// sheet back, the summary and its result.
//
// Values are the server's units: a verdict 1 or 0, a score in hundredths of a point, a price
// in fen; the page shows points and 元.
import { mountInbox } from '/assets/inbox.js';
import { api, ApiError, boot, field, fmtTime, h, okBox, select, fmtClock, confirmStep } from '/assets/kaiping.js';
import {
  bidKind, decisionKinds as decisionNames, fenOf, fetchBlob, liveEvents, param, problem, put, run, sitting, yuan,
} from './common.js';

const $ = (id) => document.getElementById(id);
const j = JSON.stringify;
/** The key a part is drawn for: its facts, in the section shown. */
const key = (...facts) => j([section, ...facts]);

const id = param('id');
const sessBase = '/api/v1/expert/sessions/' + encodeURIComponent(id);
const stageNames = { initial: '初步评审', detailed: '详细评审', summarized: '已汇总' };
const methodNames = { comprehensive: '综合评估法', lowest_price: '经评审的最低投标价法' };
const kindOrder = ['technical', 'commercial', 'summary'];

// The grounds a 否决 may cite, as the server lists them (ReviewView.grounds), in its order.
const grounds = () => Object.entries((view && view.grounds) || {}).sort(([a], [b]) => a.localeCompare(b));

let sess = null; // the member's session view
let sections = []; // the group's sections
let section = ''; // the section shown
let view = null; // its ReviewView
let envelopes = null; // the opened envelopes of the group's sections, once listed
let shownStage = ''; // the stage the sheet shows
let current = ''; // the bidder whose sheet (detailed) or bid is open
const pending = new Map(); // marks changed and not yet saved, by bidder|item
let saveTimer = 0;
let saving = null; // the save under way
const frames = new Map(); // the envelopes read ({pdf|file: object URL} or {text}), by envelope ID

const me = await boot(['expert']);
if (me) mountInbox(document.querySelector('header.bar'));
if (me) start();

async function start() {
  if (!id) {
    $('page-msg').replaceChildren(h('p', {}, '请从评标工位进入评审（地址中带有 ?id=…）。'));
    return;
  }
  sess = await run($('page-msg'), () => api('GET', sessBase));
  if (!sess) return;
  const g = sess.groups.find((x) => x.id === sess.me.group);
  sections = g ? g.sections : [];
  if (!sections.length) {
    $('page-msg').replaceChildren(h('p', {}, '您所在的评标小组没有要评审的标段。'));
    return;
  }
  section = sections.some((s) => s.id === param('section')) ? param('section') : sections[0].id;
  $('section').replaceChildren(...sections.map((s) => h('option', { value: s.id }, s.code + ' ' + s.name)));
  $('section').value = section;
  $('section').addEventListener('change', async () => {
    // Unsaved marks belong to the section shown: the page stays until they are saved.
    if (!(await flush()) && pending.size) {
      $('section').value = section;
      return;
    }
    section = $('section').value;
    current = '';
    view = null;
    $('reader').replaceChildren();
    await reload();
  });
  $('seat-link').href = '/session/?id=' + encodeURIComponent(id);
  $('refresh').addEventListener('click', () => reload());
  $('submit').addEventListener('click', (ev) => submit(ev.target));
  $('review').hidden = false;
  await reload();
  liveEvents(id, sessBase, async (evs) => {
    if (evs.some((e) => e.type.startsWith('review.') || e.type.startsWith('session.'))) await reload();
  }, (err) => {
    $('live').textContent = err ? '连接中断，正在重试…' : '实时更新中';
    $('live').className = 'live ' + (err ? 'retry' : 'open');
  });
  // A member's submission is an event of that member only: the chair follows the progress by
  // reading the review again while the section is open.
  setInterval(() => {
    if (view && view.chair && view.review.stage !== 'summarized' && !document.hidden) reload();
  }, 10000);
  window.addEventListener('pagehide', () => frames.forEach((f) => URL.revokeObjectURL(f.pdf || f.file || '')));
}

function secBase() {
  return sessBase + '/sections/' + encodeURIComponent(section) + '/review';
}

// reload reads the session (its state, the members) and the section's review afresh.
async function reload() {
  const want = section;
  const got = await run($('page-msg'), () => Promise.all([api('GET', sessBase), api('GET', secBase())]));
  if (!got || want !== section) return;
  sess = got[0];
  render(got[1]);
}

// ---- units -----------------------------------------------------------------------------------

/** Hundredths of a point as points: 2550 → "25.5". */
function points(v) {
  return (Math.round(v) / 100).toString();
}

function bidName(bidder) {
  const b = view.bids.find((x) => x.bidder_id === bidder);
  return b ? b.bidder_name : '（未知投标人）';
}

function memberName(mid) {
  const m = sess.members.find((x) => x.id === mid);
  return m ? m.name : '一名成员';
}

function items() {
  return (view.method.criteria || []).flatMap((g) => g.items.map((it) => ({ ...it, group: g.name })));
}

function markOf(bidder, item) {
  return view.marks.find((m) => m.bidder_id === bidder && m.item === item);
}

/** The stage the member works on now: the section's, until summarized. */
function workStage() {
  return view.review.stage === 'summarized' ? 'detailed' : view.review.stage;
}

function submitted(stage) {
  return view.submitted.includes(stage);
}

/** Whether the member may change marks of the stage now. */
function editable(stage) {
  return sess.state === 'in_review' && view.review.stage === stage && !submitted(stage);
}

// ---- drawing ---------------------------------------------------------------------------------

function render(v) {
  view = v;
  const stage = workStage();
  // A bid the committee has just rejected is no longer scored: its unsaved scores go.
  if (stage === 'detailed') {
    for (const [k, m] of pending) if (!v.bids.some((b) => b.bidder_id === m.bidder_id && b.valid)) pending.delete(k);
  }
  put($('review-facts'), key(v.review.stage, v.progress, v.sitting, v.submitted, v.pending, v.review.ceiling, v.review.downward), facts);
  const bidsKey = v.bids.map((b) => [b.bidder_id, b.valid, !!b.rejected]);
  put($('sheet'), key(v.review.stage, stage, v.submitted, bidsKey, sess.state), () => sheet(stage));
  $('sheet-title').textContent = '评审表：' + stageNames[stage];
  if (shownStage && shownStage !== stage) $('submit-msg').replaceChildren();
  shownStage = stage;
  const canSubmit = editable(stage) && !(stage === 'detailed' && !items().length);
  $('submit').hidden = !canSubmit;
  $('submit').textContent = '提交' + stageNames[stage] + '结果';
  $('chair-card').hidden = !v.chair;
  if (v.chair) chairPanel();
  const res = v.review.summary ? v.review.summary.result : v.chair && v.outcome ? v.outcome.result : null;
  $('result-card').hidden = !res;
  if (res) {
    $('result-title').textContent = v.review.summary ? '汇总结果' : '计算结果（尚未汇总，供组长核对）';
    put($('result'), key(res, !!v.review.summary), () => resultTable(res, v.review.summary));
  }
  // Each read is recorded: in the initial review a bid opens when the member picks it; the
  // detailed review opens the bid whose sheet is shown.
  if (!current && stage === 'initial') {
    put($('reader'), key('pick'), () => h('p', { class: 'hint' }, '点击评审表中的投标人名称，在此打开其投标文件。'));
  }
}

function facts() {
  const v = view;
  const rows = [
    ['评标办法', methodNames[v.method.kind] || v.method.kind],
    ['当前阶段', h('span', { class: 'badge review-stage', 'data-stage': v.review.stage }, stageNames[v.review.stage])],
    ['初步评审提交', (v.progress.initial || 0) + ' / ' + v.sitting + ' 人'],
  ];
  if (v.method.kind === 'comprehensive') rows.push(['详细评审提交', (v.progress.detailed || 0) + ' / ' + v.sitting + ' 人']);
  rows.push(['我已提交', v.submitted.length ? v.submitted.map((s) => stageNames[s]).join('、') : '尚未提交']);
  if (v.review.ceiling) rows.push(['最高投标限价', yuan(v.review.ceiling) + ' 元']);
  const out = [h('dl', { class: 'facts' }, rows.map(([k, x]) => [h('dt', {}, k), h('dd', {}, x)]))];
  if (v.pending && v.review.stage !== 'initial') out.push(h('p', { class: 'hint', id: 'pending' }, v.pending));
  return out;
}

function sheet(stage) {
  if (stage === 'initial') return initialGrid();
  if (!items().length) return h('p', { class: 'hint' }, '本标段采用经评审的最低投标价法，详细评审不打分；由组长录入评标委员会的决定后汇总。');
  return detailedSheets();
}

/** The initial review: bids × items, 合格 or 不合格 with the reason. */
function initialGrid() {
  const ro = !editable('initial');
  const review = view.method.review || [];
  const out = [];
  if (submitted('initial')) out.push(okBox('您已提交初步评审结论；如需修改，请组长退回您的评审表。'));
  else if (ro && view.review.stage !== 'initial') out.push(h('p', { class: 'hint' }, '初步评审已结束。'));
  out.push(h('table', { class: 'grid review-grid', id: 'initial' },
    h('thead', {}, h('tr', {}, h('th', {}, '投标人'), review.map((r) => h('th', { 'data-item': r.code }, r.name)))),
    h('tbody', {}, view.bids.map((b) => h('tr', { 'data-bidder': b.bidder_id, class: b.valid ? '' : 'invalid' },
      h('th', {}, h('button', { type: 'button', class: 'link bid-view', onclick: () => openBid(b.bidder_id) }, b.bidder_name),
        b.valid ? null : h('div', { class: 'hint' }, b.rejected ? '已否决' : '未通过初步评审')),
      review.map((r) => verdictCell(b, r, ro)))))));
  return out;
}

function verdictCell(b, r, ro) {
  const mk = markOf(b.bidder_id, r.code);
  const name = 'v-' + b.bidder_id + '-' + r.code;
  const reason = h('input', { type: 'text', class: 'reason', placeholder: '不合格理由', value: (mk && mk.reason) || '',
    disabled: ro, 'aria-label': b.bidder_name + ' ' + r.name + ' 不合格理由' });
  const td = h('td', { 'data-bidder': b.bidder_id, 'data-item': r.code });
  const changed = () => {
    const chosen = td.querySelector('input[type=radio]:checked');
    reason.hidden = !chosen || chosen.value !== '0';
    if (chosen) note(b.bidder_id, r.code, { bidder_id: b.bidder_id, item: r.code, value: Number(chosen.value), reason: reason.value.trim() });
  };
  const radio = (value, text) => h('label', { class: 'check' }, h('input', { type: 'radio', name, value, disabled: ro,
    checked: !!mk && mk.value === Number(value), onchange: changed }), text);
  reason.hidden = !mk || mk.value !== 0;
  reason.addEventListener('input', changed);
  td.append(radio('1', '合格'), radio('0', '不合格'), reason);
  return td;
}

/** The detailed review: a sheet per bid, item by item; bids not valid are greyed out. */
function detailedSheets() {
  const ro = !editable('detailed');
  const out = [];
  if (submitted('detailed')) out.push(okBox('您已提交详细评审评分；如需修改，请组长退回您的评审表。'));
  const tabs = h('div', { class: 'bid-tabs', id: 'bid-tabs' }, view.bids.map((b) => h('button', {
    type: 'button', class: 'secondary bid-tab' + (b.valid ? '' : ' invalid'), 'data-bidder': b.bidder_id,
    title: b.valid ? '' : (b.rejected ? '已否决' : '未通过初步评审') + '，不评分',
    onclick: () => showSheet(b.bidder_id) }, b.bidder_name + (b.valid ? '' : '（不评分）'))));
  out.push(tabs);
  for (const b of view.bids) out.push(bidSheet(b, ro));
  const first = view.bids.find((b) => b.bidder_id === current && b.valid) || view.bids.find((b) => b.valid);
  queueMicrotask(() => showSheet(first ? first.bidder_id : ''));
  return out;
}

function bidSheet(b, ro) {
  const wrap = h('div', { class: 'bid-sheet' + (b.valid ? '' : ' invalid'), 'data-bidder': b.bidder_id, hidden: true });
  if (!b.valid) {
    wrap.append(h('p', { class: 'notice' }, b.bidder_name + (b.rejected ? ' 的投标已被否决' : ' 未通过初步评审') + '，不进行详细评审。'));
    return wrap;
  }
  const total = h('strong', { class: 'sheet-total' });
  const sum = () => {
    let t = 0;
    for (const inp of wrap.querySelectorAll('input.score')) if (inp.value !== '') t += Math.round(Number(inp.value) * 100);
    total.textContent = points(t) + ' 分';
  };
  const rows = items().map((it) => {
    const mk = markOf(b.bidder_id, it.code);
    const score = h('input', { type: 'number', class: 'score', min: 0, max: it.max / 100, step: 0.01, disabled: ro,
      value: mk ? points(mk.value) : '', 'aria-label': b.bidder_name + ' ' + it.name + ' 得分' });
    const page = h('input', { type: 'number', class: 'page', min: 1, step: 1, disabled: ro,
      value: mk && mk.page ? String(mk.page) : '', 'aria-label': b.bidder_name + ' ' + it.name + ' 依据页码' });
    const changed = () => {
      sum();
      if (score.value === '') return;
      const m = { bidder_id: b.bidder_id, item: it.code, value: Math.round(Number(score.value) * 100) };
      if (page.value !== '') m.page = Number(page.value);
      note(b.bidder_id, it.code, m);
    };
    score.addEventListener('input', changed);
    page.addEventListener('input', changed);
    page.addEventListener('change', () => { if (page.value) openBid(b.bidder_id, Number(page.value)); });
    return h('tr', { 'data-item': it.code, 'data-objective': it.objective ? 'true' : 'false' },
      h('td', {}, it.group), h('td', {}, it.name),
      h('td', {}, h('span', { class: 'badge ' + (it.objective ? 'objective' : 'subjective') }, it.objective ? '客观分' : '主观分')),
      h('td', { class: 'num' }, points(it.max)),
      h('td', {}, score),
      h('td', {}, page, ' ', h('button', { type: 'button', class: 'link page-go', onclick: () => openBid(b.bidder_id, page.value ? Number(page.value) : 0) }, '翻到')));
  });
  wrap.append(h('table', { class: 'grid review-sheet' },
    h('thead', {}, h('tr', {}, ['评分因素', '评分项', '类型', '满分', '得分', '依据页码'].map((x) => h('th', {}, x)))),
    h('tbody', {}, rows),
    h('tfoot', {}, h('tr', {}, h('td', { colspan: 4 }, '合计（不含价格分）'), h('td', { colspan: 2 }, total)))));
  sum();
  return wrap;
}

function showSheet(bidder) {
  for (const el of document.querySelectorAll('.bid-sheet')) el.hidden = el.dataset.bidder !== bidder;
  for (const el of document.querySelectorAll('.bid-tab')) el.classList.toggle('active', el.dataset.bidder === bidder);
  if (bidder && bidder !== current) openBid(bidder);
}

// ---- saving as the member goes -----------------------------------------------------------------

function note(bidder, item, mark) {
  pending.set(bidder + '|' + item, mark);
  clearTimeout(saveTimer);
  saveTimer = setTimeout(flush, 600);
  saveState('editing', '正在编辑…');
}

function saveState(state, text, err) {
  const el = $('save-state');
  el.dataset.state = state;
  el.title = err ? '错误代码：' + err.code : '';
  el.textContent = text;
}

/**
 * Saves the pending marks. A fail without its reason waits for the reason; a refused save
 * keeps its marks pending and shows the server's message. Resolves to false after a failure.
 */
async function flush() {
  clearTimeout(saveTimer);
  if (saving) await saving;
  const stage = workStage();
  const send = [];
  let waiting = 0;
  for (const [k, m] of pending) {
    if (stage === 'initial' && m.value === 0 && !m.reason) {
      waiting++;
      continue;
    }
    send.push(m);
    pending.delete(k);
  }
  if (!send.length) {
    if (waiting) saveState('waiting', '判定不合格须填写理由，填写后自动保存');
    return waiting === 0;
  }
  saveState('saving', '保存中…');
  let ok = true;
  saving = (async () => {
    try {
      await api('PUT', secBase() + '/marks', { stage, marks: send });
      for (const m of send) {
        const i = view.marks.findIndex((x) => x.bidder_id === m.bidder_id && x.item === m.item);
        if (i >= 0) view.marks[i] = m;
        else view.marks.push(m);
      }
      saveState('saved', waiting ? '已保存；判定不合格须填写理由，填写后自动保存' : '已保存（' + fmtClock(new Date(), true) + '，北京时间）');
    } catch (e) {
      ok = false;
      for (const m of send) {
        const k = m.bidder_id + '|' + m.item;
        if (!pending.has(k)) pending.set(k, m);
      }
      const err = e instanceof ApiError ? e : new ApiError(0, 'page', '页面出错，请刷新后重试', null);
      saveState('failed', '保存失败：' + err.message, err);
    }
  })();
  await saving;
  saving = null;
  return ok && waiting === 0;
}

window.addEventListener('beforeunload', (ev) => {
  if (pending.size) ev.preventDefault();
});

async function submit(button) {
  const stage = workStage();
  const ok = await confirmStep({ title: '提交' + stageNames[stage] + '结果', ok: '确认提交',
    text: ['提交后您的' + stageNames[stage] + '结果记入评标记录，不能再修改；如需修改，须由组长退回您的评审表。'] });
  if (!ok) return;
  await run($('submit-msg'), async () => {
    if (!(await flush())) throw new ApiError(0, 'page.unsaved', '尚有未保存的修改（见“保存失败”或“须填写理由”的提示），请先改正');
    await api('POST', secBase() + '/submissions', { stage });
    $('submit-msg').replaceChildren(okBox('已提交' + stageNames[stage] + '结果'));
    await reload();
  }, button);
}

// ---- the bid beside the sheet ------------------------------------------------------------------

async function bidEnvelopes(bidder) {
  if (!envelopes) {
    const res = await run($('reader-msg'), () => api('GET', sessBase + '/bids'));
    if (!res) return [];
    envelopes = res.bids;
  }
  return envelopes.filter((e) => e.section_id === section && e.bidder_id === bidder)
    .sort((a, b) => kindOrder.indexOf(a.kind) - kindOrder.indexOf(b.kind));
}

/** Opens bidder's bid beside the sheet, at page when one is cited. */
async function openBid(bidder, page, kind) {
  current = bidder;
  const list = await bidEnvelopes(bidder);
  if (current !== bidder) return;
  if (!list.length) {
    $('reader').replaceChildren(h('p', { class: 'hint' }, bidName(bidder) + '：没有可查阅的投标文件'));
    return;
  }
  const env = list.find((e) => e.kind === kind) || list[0];
  const choose = select({ id: 'reader-file', 'aria-label': '投标文件', onchange: (ev) => openBid(bidder, 0, ev.target.value) },
    list.map((e) => [e.kind, bidKind(e.kind) + (e.file_name ? '：' + e.file_name : '')]));
  choose.value = env.kind;
  const head = h('div', { class: 'row reader-head' }, h('strong', { id: 'reader-bidder' }, bidName(bidder)), choose,
    page ? h('span', { class: 'hint' }, '第 ' + page + ' 页') : null);
  const got = frames.get(env.id) || await run($('reader-msg'), async () => {
    const blob = await fetchBlob(sessBase + '/bids/' + encodeURIComponent(env.id));
    // The type is the page's choice, not the file's: only a PDF goes into a frame, so a bid
    // can never become a page of this origin.
    const type = (env.content_type || blob.type || '').split(';')[0].trim().toLowerCase();
    let f;
    if (type === 'application/pdf') f = { pdf: URL.createObjectURL(new Blob([blob], { type: 'application/pdf' })) };
    else if (type.startsWith('text/') || type === 'application/json') f = { text: await blob.text() };
    else f = { file: URL.createObjectURL(new Blob([blob], { type: 'application/octet-stream' })) };
    frames.set(env.id, f);
    return f;
  });
  if (!got || current !== bidder) return;
  let body;
  if (got.pdf) {
    body = h('iframe', { class: 'bid-frame', id: 'bid-frame', src: got.pdf + (page ? '#page=' + page : ''), title: bidName(bidder) + ' ' + bidKind(env.kind) });
  } else if (got.text !== undefined) body = h('pre', { class: 'bid-text' }, got.text);
  else body = h('p', {}, '该文件不能在浏览器中直接显示：', h('a', { href: got.file, download: env.file_name || bidName(bidder) }, '保存到本机后查看'));
  $('reader').replaceChildren(head, body);
}

// ---- the chair's panel ---------------------------------------------------------------------------

function chairPanel() {
  const v = view;
  const stage = v.review.stage;
  put($('progress'), key(stage, v.awaiting, v.progress, v.sitting), () => {
    const done = stage === 'initial' ? v.progress.initial || 0 : v.progress.detailed || 0;
    const what = stage === 'initial' ? '初步评审' : '详细评审';
    return [h('p', {}, what + '：已提交 ' + done + ' / ' + v.sitting + ' 人'),
      (v.awaiting || []).length
        ? h('p', { class: 'notice', id: 'awaiting' }, '尚未提交：' + v.awaiting.join('、'))
        : h('p', { class: 'ok', id: 'awaiting' }, '全部成员已提交' + what + '结果')];
  });
  put($('chair-steps'), key(stage, sess.state), () => {
    if (sess.state !== 'in_review') return h('p', { class: 'hint' }, '评标会议不在评审阶段。');
    if (stage === 'initial') return h('button', { type: 'button', id: 'conclude', onclick: (ev) => conclude(ev.target) }, '结束初步评审');
    if (stage === 'detailed') return h('button', { type: 'button', id: 'summarize', onclick: (ev) => summarize(ev.target) }, '汇总评审结果');
    return h('button', { type: 'button', id: 'reopen', class: 'secondary', onclick: (ev) => reopen(ev.target) }, '退回汇总');
  });
  put($('decisions'), key(v.review.decisions, v.bids.map((b) => b.bidder_id)), decisionsList);
  put($('decision-form'), key(stage, v.bids.map((b) => b.bidder_id), sess.state), decisionForm);
  put($('warnings'), key(v.outcome ? v.outcome.warnings : null, v.pending, stage), warningsList);
  put($('handback'), key(stage, sess.members.map((m) => [m.id, sitting(m)]), sess.state), handbackForm);
}

async function chairStep(out, fn, done, button) {
  await run(out, async () => {
    await fn();
    out.replaceChildren(okBox(done));
    await reload();
  }, button);
}

async function conclude(button) {
  const ok = await confirmStep({ title: '结束初步评审', ok: '确认结束',
    text: ['全部成员提交初步评审结论后，按多数意见确定通过初步评审的投标；未通过的投标不进入详细评审。', '此操作不能撤回。'] });
  if (ok) await chairStep($('chair-msg'), () => api('POST', secBase() + '/conclude-initial'), '初步评审已结束', button);
}

async function summarize(button) {
  const ok = await confirmStep({ title: '汇总评审结果', ok: '确认汇总',
    text: '按全部成员提交的评分计算排序并推荐中标候选人。汇总后不能再评分；如需改正，须先退回汇总。' });
  if (ok) await chairStep($('chair-msg'), () => api('POST', secBase() + '/summary'), '已汇总', button);
}

async function reopen(button) {
  const got = await confirmStep({ title: '退回汇总', ok: '确认退回', danger: true,
    text: '退回后回到详细评审，可以改正后重新汇总；原汇总记录保留在评标记录中。',
    fields: [{ name: 'reason', label: '退回理由', type: 'textarea', required: true }] });
  if (got) await chairStep($('chair-msg'), () => api('POST', secBase() + '/reopen', got), '已退回汇总', button);
}

function decisionsList() {
  const ds = view.review.decisions || [];
  if (!ds.length) return h('p', { class: 'hint' }, '尚无评标委员会决定');
  const reason = (code) => ((view && view.grounds) || {})[code] || code;
  const adj = (code) => ((view.method.adjustments || []).find((a) => a.code === code) || { name: code }).name;
  return h('table', { class: 'grid decisions' },
    h('thead', {}, h('tr', {}, ['投标人', '决定', '依据', '理由', '时间（北京时间）'].map((x) => h('th', {}, x)))),
    h('tbody', {}, ds.map((d) => h('tr', { 'data-kind': d.kind },
      h('td', {}, bidName(d.bidder_id)), h('td', {}, decisionNames[d.kind] || d.kind),
      h('td', {}, d.kind === 'reject' ? '条例第五十一条：' + reason(d.reason) : d.kind === 'adjust' ? adj(d.adjustment) + ' ' + yuan(d.amount) + ' 元' : '—'),
      h('td', {}, d.text), h('td', {}, fmtClock(d.at, true))))));
}

function decisionForm() {
  if (sess.state !== 'in_review' || view.review.stage === 'summarized') return h('p', { class: 'hint' }, '汇总后不能再作出决定；如需改变，请先退回汇总。');
  const adjustments = view.method.adjustments || [];
  const kinds = Object.entries(decisionNames).filter(([k]) => k !== 'adjust' || adjustments.length);
  const kind = select({ id: 'decision-kind' }, kinds);
  const bidder = select({ id: 'decision-bidder' }, view.bids.map((b) => [b.bidder_id, b.bidder_name]));
  const reason = field('否决情形（《招标投标法实施条例》第五十一条等）', select({ id: 'decision-reason' }, [['', '请选择'], ...grounds()]));
  const adj = field('调整项', select({ id: 'decision-adjustment' }, adjustments.map((a) => [a.code, a.name])));
  const amount = field('调整金额（元，可为负数）', h('input', { id: 'decision-amount', type: 'text', inputmode: 'decimal' }));
  const text = h('textarea', { id: 'decision-text', rows: 2, placeholder: '写明评标委员会的理由' });
  const shown = () => {
    reason.hidden = kind.value !== 'reject';
    adj.hidden = amount.hidden = kind.value !== 'adjust';
  };
  kind.addEventListener('change', shown);
  shown();
  return [h('div', { class: 'row' }, field('投标人', bidder), field('决定', kind), reason, adj, amount),
    field('理由', text),
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'decision-submit', onclick: (ev) => decide(ev.target) }, '记录决定'))];
}

async function decide(button) {
  const body = { kind: $('decision-kind').value, bidder_id: $('decision-bidder').value, text: $('decision-text').value.trim() };
  if (body.kind === 'reject') body.reason = $('decision-reason').value;
  if (body.kind === 'adjust') {
    body.adjustment = $('decision-adjustment').value;
    body.amount = fenOf($('decision-amount').value);
    if (Number.isNaN(body.amount)) {
      $('decision-msg').replaceChildren(problem(new ApiError(0, 'page.amount', '调整金额须为金额（元），最多两位小数', null)));
      return;
    }
  }
  const ok = await confirmStep({ title: decisionNames[body.kind], ok: '确认', danger: body.kind === 'reject',
    text: [bidName(body.bidder_id) + '：' + decisionNames[body.kind], '决定记入评标记录。'] });
  if (!ok) return;
  await chairStep($('decision-msg'), async () => {
    await api('POST', secBase() + '/decisions', body);
    $('decision-text').value = '';
  }, '已记录：' + bidName(body.bidder_id) + ' ' + decisionNames[body.kind], button);
}

function warningsList() {
  const v = view;
  if (!v.outcome) return h('p', { class: 'hint', id: 'warnings-pending' }, v.pending || '尚无计算结果');
  const ws = v.outcome.warnings || [];
  if (!ws.length) return h('p', { class: 'ok' }, '没有需要处理的提示');
  const editable = v.review.stage === 'detailed' && sess.state === 'in_review';
  return h('ul', { class: 'warnings' }, ws.map((w) => {
    const li = h('li', { class: 'warning ' + (w.hard ? 'hard' : 'soft'), 'data-code': w.code, 'data-key': w.key },
      h('strong', {}, w.hard ? '须纠正：' : '须书面说明：'), w.message);
    if (w.hard) li.append(h('div', { class: 'hint' }, '纠正前不能汇总（退回有关成员的评审表改正，或由评标委员会作出决定）。'));
    else if (w.note) li.append(h('div', { class: 'note' }, '评标委员会说明：' + w.note.text));
    else if (editable) {
      const text = h('textarea', { class: 'note-text', rows: 2, placeholder: '评标委员会的书面说明' });
      li.append(h('div', { class: 'row' }, text, h('button', { type: 'button', class: 'secondary note-submit',
        onclick: (ev) => chairStep($('warnings-msg'), () => api('POST', secBase() + '/notes', { key: w.key, text: text.value.trim() }),
          '已记录说明', ev.target) }, '提交说明')));
    }
    return li;
  }));
}

function handbackForm() {
  if (sess.state !== 'in_review' || view.review.stage === 'summarized') return h('p', { class: 'hint' }, '评审进行中可以退回成员已提交的评审表。');
  const members = sess.members.filter((m) => m.group === sess.me.group && sitting(m));
  // A sheet goes back only in its own stage: the initial review's are fixed once it is concluded.
  const stage = select({ id: 'handback-stage' }, [[view.review.stage, stageNames[view.review.stage]]]);
  return [h('div', { class: 'row' },
    field('成员', select({ id: 'handback-member' }, members.map((m) => [m.id, m.name]))),
    field('阶段', stage),
    field('理由', h('input', { id: 'handback-reason', type: 'text', placeholder: '如：客观分与其他成员不一致' })),
    h('button', { type: 'button', id: 'handback-submit', class: 'secondary', onclick: (ev) => handBack(ev.target) }, '退回评审表'))];
}

async function handBack(button) {
  const body = { member_id: $('handback-member').value, stage: $('handback-stage').value, reason: $('handback-reason').value.trim() };
  await chairStep($('handback-msg'), async () => {
    await api('POST', secBase() + '/sheets/reopen', body);
    $('handback-reason').value = '';
  }, '已退回 ' + memberName(body.member_id) + ' 的评审表（' + stageNames[body.stage] + '）', button);
}

// ---- the result ---------------------------------------------------------------------------------

function resultTable(res, summary) {
  const cand = new Map((res.candidates || []).map((b, i) => [b, i + 1]));
  const ordinal = ['', '第一', '第二', '第三'];
  const scored = view.method.kind === 'comprehensive';
  const heads = ['排名', '投标人', '投标报价（元）', '评标价（元）'];
  if (scored) heads.push('技术得分', '价格得分', '综合得分');
  heads.push('中标候选人');
  const out = [h('table', { class: 'grid result', id: 'result-table' },
    h('thead', {}, h('tr', {}, heads.map((x) => h('th', {}, x)))),
    h('tbody', {}, res.bids.map((b) => h('tr', { 'data-bidder': b.bidder, class: (cand.has(b.bidder) ? 'candidate' : '') + (b.valid ? '' : ' invalid') },
      h('td', {}, b.valid ? String(b.rank) : '—'),
      h('td', {}, bidName(b.bidder), b.valid ? null : h('div', { class: 'hint' }, b.rejected ? '已否决' : '未通过初步评审')),
      h('td', { class: 'num' }, yuan(b.price)), h('td', { class: 'num' }, yuan(b.evaluated)),
      scored ? [h('td', { class: 'num' }, points(b.technical)), h('td', { class: 'num' }, points(b.price_score)), h('td', { class: 'num' }, points(b.total))] : null,
      h('td', {}, cand.has(b.bidder) ? h('span', { class: 'badge candidate' }, ordinal[cand.get(b.bidder)] + '中标候选人') : '—')))))];
  if (summary) out.push(h('p', { class: 'hint' }, '组长 ' + memberName(summary.by) + ' 于 ' + fmtTime(summary.at, true) + ' 汇总。'));
  return out;
}
