// reportdesk.js: the evaluation report on the host's console and the supervisor's view, once
// the session is signing or closed: a link to the report page, its digest and who has not
// signed; for the evaluation host, building the report (POST /api/v1/sessions/:id/report) and
// recording a member's refusal to sign without a reason (POST …/report/refusals), each behind
// a dialog saying what it does, the refusal's naming who has not signed.
import { api, ApiError, h, okBox, confirmStep } from '/assets/kaiping.js';
import { problem, put, run, sitting } from './common.js';

const $ = (id) => document.getElementById(id);

let seq = 0; // the reads of the report: an answer to an older one is dropped
let latest = null; // {sess, rep}: what the buttons act on

/**
 * Draws the report card (#report-card, #report-desk, #report-msg) of the overseer's view;
 * host adds the evaluation host's steps.
 */
export async function drawReportDesk(view, { host = false } = {}) {
  const { sess } = view;
  const card = $('report-card');
  if (!['signing', 'closed'].includes(sess.state)) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  const my = ++seq;
  let rep = null;
  try {
    rep = await api('GET', view.base + '/report');
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'report.not_built') {
      $('report-msg').replaceChildren(problem(e));
      return;
    }
  }
  if (my !== seq) return;
  if (rep) rep.signatures = rep.signatures || []; // an empty list may come as null (a Go nil slice)
  latest = { view, rep };
  put($('report-desk'), JSON.stringify([sess.state, rep && rep.digest, rep && rep.signatures, host]), () => desk(view, rep, host));
}

/** The sitting members who have neither signed nor been recorded refusing. */
function unsignedMembers(sess, rep) {
  return sess.members.filter((m) => sitting(m) && !(rep ? rep.signatures : []).some((g) => g.member_id === m.id));
}

function desk(view, rep, host) {
  const { sess } = view;
  const link = h('a', { id: 'report-page-link', href: '/session/report/?id=' + encodeURIComponent(sess.id) }, '查阅评标报告及签署情况');
  const out = [h('p', {}, link)];
  if (!rep) out.push(h('p', { class: 'notice', id: 'report-status' }, '评标报告尚未生成。'));
  else {
    const waiting = unsignedMembers(sess, rep);
    out.push(h('dl', { class: 'facts', id: 'report-status' },
      h('dt', {}, '报告摘要'), h('dd', {}, h('code', { class: 'digest' }, rep.digest)),
      h('dt', {}, '已签署'), h('dd', {}, rep.signatures.length + ' 人'),
      h('dt', {}, '尚未签署'), h('dd', { id: 'report-unsigned' }, waiting.length ? waiting.map((m) => m.name).join('、') : '无')));
  }
  if (!host || sess.state !== 'signing') return out;
  if (!rep || !rep.signatures.length) {
    out.push(h('div', { class: 'controls' }, h('button', { type: 'button', id: 'report-build', onclick: (ev) => build(ev.target) },
      rep ? '重新生成评标报告' : '生成评标报告')));
  }
  if (rep) {
    const waiting = unsignedMembers(sess, rep);
    if (waiting.length) out.push(refusalForm(waiting));
  }
  return out;
}

async function build(button) {
  const { view, rep } = latest;
  const ok = await confirmStep({
    title: '生成评标报告', ok: '确认生成',
    text: ['由各标段组长的汇总结果生成评标报告（十部分及签字页）的 JSON 正本与 PDF，摘要记入审计日志。' +
      (rep ? '在任何成员签署之前，可以重新生成。' : ''), '生成后由评标委员会成员逐一签署。'],
  });
  if (!ok) return;
  await run($('report-msg'), async () => {
    const got = await api('POST', view.base + '/report');
    $('report-msg').replaceChildren(okBox('已生成评标报告，摘要 ' + got.digest));
    await view.reload();
  }, button);
}

function refusalForm(waiting) {
  const who = h('select', { id: 'refusal-member' }, waiting.map((m) => h('option', { value: m.id }, m.name)));
  const note = h('textarea', { id: 'refusal-note', rows: 2, maxlength: 2000, placeholder: '如：经主持人两次提示，该成员拒绝签字且未说明理由' });
  return h('form', { class: 'refusal', id: 'refusal-form', onsubmit: (ev) => {
    ev.preventDefault();
    refuse(who.value, note, ev.submitter || $('refusal-submit'));
  } },
  h('h3', {}, '记录拒签'),
  h('p', { class: 'hint' }, '成员拒绝在评标报告上签字且不陈述不同意见和理由的，视为同意评标结论（《评标委员会和评标方法暂行规定》第四十三条），由主持人如实记录。'),
  h('div', { class: 'row' }, h('label', { class: 'field' }, h('span', {}, '拒签成员'), who),
    h('label', { class: 'field' }, h('span', {}, '经过'), note),
    h('button', { type: 'submit', id: 'refusal-submit', class: 'danger' }, '记录拒签')));
}

async function refuse(memberID, note, button) {
  const { view, rep } = latest;
  const waiting = unsignedMembers(view.sess, rep);
  const m = waiting.find((x) => x.id === memberID);
  if (!m) return;
  const ok = await confirmStep({
    title: '记录 ' + m.name + ' 拒签', ok: '确认记录拒签', danger: true,
    text: ['尚未签署的成员：' + waiting.map((x) => x.name).join('、') + '。',
      '记录 ' + m.name + ' 拒绝签字且未说明理由：视为同意评标结论，记入评标报告的签署记录和审计日志，不能撤回。'],
  });
  if (!ok) return;
  await run($('report-msg'), async () => {
    await api('POST', view.base + '/report/refusals', { member_id: m.id, note: note.value.trim() });
    note.value = '';
    $('report-msg').replaceChildren(okBox('已记录 ' + m.name + ' 拒签'));
    await view.reload();
  }, button);
}
