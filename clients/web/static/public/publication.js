// One publication of the candidates (中标候选人公示), for everyone: no session, only the
// public API, which answers what the law makes public — the candidates in rank order with
// their names, prices and (综合评估法) total scores, the period, how a bidder objects — and
// that objections are being handled, never what they say or who filed them. A bidder who
// opens it from a login link also sees their own objections with the answers, and during the
// period a form to object in writing.
import { api, h, table, errorBox, okBox, act, token, fmtRange, fmtTime } from '/assets/kaiping.js';

const box = document.querySelector('#publication');
const id = new URLSearchParams(location.search).get('id') || '';
const ranks = ['第一中标候选人', '第二中标候选人', '第三中标候选人'];

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function yuan(s) {
  const [whole, frac] = s.split('.');
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + '.' + frac;
}

function candidates(p) {
  const scored = p.candidates.some((c) => c.total);
  const head = ['排名', '投标人', '投标报价（元）', ...(scored ? ['综合得分'] : [])];
  const rows = p.candidates.map((c) => [ranks[c.rank - 1] || '第 ' + c.rank + ' 名', c.bidder_name, yuan(c.price),
    ...(scored ? [c.total] : [])]);
  return table(head, rows);
}

function objection(o) {
  const state = o.answered_at ? '已答复（' + fmtTime(o.answered_at) + '）'
    : o.overdue ? '逾期未答复（应于 ' + fmtTime(o.due) + ' 前答复）' : '待答复（应于 ' + fmtTime(o.due) + ' 前答复）';
  return h('li', { class: 'objection', 'data-answered': o.answered_at ? 'yes' : 'no' },
    h('p', {}, fmtTime(o.filed_at) + ' 提出：', o.text),
    h('p', {}, '状态：' + state),
    o.answer ? h('p', {}, '答复：', o.answer) : null);
}

// mine shows the bidder's own objections and, while objections are taken, the form; nothing
// for a visitor without a session or a login that is not a bidder's.
async function mine(p, into) {
  if (!token()) return;
  const path = '/api/v1/bidder/publications/' + encodeURIComponent(p.id) + '/objections';
  let data;
  try {
    data = await api('GET', path);
  } catch (err) {
    if (err.status !== 403) into.replaceChildren(errorBox(err));
    return;
  }
  const open = data.publication.phase === 'open' || data.publication.phase === 'paused';
  const msg = h('div', { id: 'objection-msg' });
  const text = h('textarea', { id: 'objection-text', rows: 5, maxlength: 5000, placeholder: '请写明异议事项及理由' });
  const submit = h('button', { id: 'objection-submit', type: 'button' }, '提交书面异议');
  submit.addEventListener('click', async () => {
    const o = await act(msg, () => api('POST', path, { text: text.value }), submit);
    if (o) {
      await mine(p, into);
      into.querySelector('#objection-msg').replaceChildren(okBox('异议已提交，招标人应于 ' + fmtTime(o.due) + ' 前书面答复'));
    }
  });
  into.replaceChildren(
    h('h3', {}, '我的异议'),
    data.objections.length ? h('ul', { id: 'my-objections' }, data.objections.map(objection)) : h('p', {}, '您尚未对本公示提出异议。'),
    open ? h('div', { class: 'form' }, text, submit) : h('p', {}, '公示期已结束，不能再提出异议。'),
    msg);
}

async function main() {
  try {
    const p = await api('GET', '/api/v1/public/publications/' + encodeURIComponent(id));
    const r = p.objection_route;
    box.replaceChildren(
      h('h2', { id: 'title' }, p.tender_title),
      facts([
        ['项目编号', p.tender_code],
        ['标段', p.section_code + ' ' + p.section_name],
        ...(p.method_label ? [['评标办法', p.method_label]] : []),
        ['公示期', fmtRange(p.starts, p.ends)],
        ['状态', h('span', { id: 'phase', 'data-phase': p.phase }, p.phase_label)],
        ...(p.concluded_at ? [['公示结束时间', fmtTime(p.concluded_at)]] : []),
      ]),
      p.objections_handling ? h('p', { id: 'handling', class: 'notice' },
        '异议处理中：有投标人对本公示提出异议，招标人作出答复前暂停招标投标活动，不得确定中标人。') : null,
      h('h3', {}, '中标候选人'),
      h('div', { id: 'candidates' }, candidates(p)),
      h('h3', {}, '异议'),
      h('div', { id: 'objection-route' }, facts([
        ['谁可以提出', r.who],
        ['如何提出', r.how],
        ['截止时间', fmtTime(r.deadline)],
        ['答复', r.answer_within],
      ])),
      h('section', { id: 'mine' }));
    await mine(p, box.querySelector('#mine'));
  } catch (err) {
    box.replaceChildren(errorBox(err));
  }
}

main();
