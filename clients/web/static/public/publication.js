// One publication of the candidates (中标候选人公示), for everyone: no session, only the
// public API, which answers what the law makes public — the candidates in rank order with
// their names, prices and (综合评估法) total scores, the period, how a bidder objects — and
// that objections are being handled, never what they say or who filed them.
import { api, h, table, errorBox, fmtTime } from '/assets/kaiping.js';

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
        ['公示期', fmtTime(p.starts) + ' 至 ' + fmtTime(p.ends) + '（北京时间）'],
        ['状态', h('span', { id: 'phase', 'data-phase': p.phase }, p.phase_label)],
        ...(p.concluded_at ? [['公示结束时间', fmtTime(p.concluded_at) + '（北京时间）']] : []),
      ]),
      p.objections_handling ? h('p', { id: 'handling', class: 'notice' },
        '异议处理中：有投标人对本公示提出异议，招标人作出答复前暂停招标投标活动，不得确定中标人。') : null,
      h('h3', {}, '中标候选人'),
      h('div', { id: 'candidates' }, candidates(p)),
      h('h3', {}, '异议'),
      h('div', { id: 'objection-route' }, facts([
        ['谁可以提出', r.who],
        ['如何提出', r.how],
        ['截止时间', fmtTime(r.deadline) + '（北京时间）'],
        ['答复', r.answer_within],
      ])));
  } catch (err) {
    box.replaceChildren(errorBox(err));
  }
}

main();
