// The published opening record (开标记录公示), for everyone: no session, only the public
// API, which answers what the law makes public and, before publication, nothing.
import { api, h, table, errorBox, fmtRange, fmtTime, verifyPanel } from '/assets/kaiping.js';

const box = document.querySelector('#record');
const q = new URLSearchParams(location.search);

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function round(r) {
  const head = ['序号', '投标人', ...r.fields.map((f) => f.label), '状态', '说明'];
  const rows = r.bids.map((b) => [String(b.no), b.bidder_name,
    ...r.fields.map((f) => (b.values && b.values[f.key]) || '—'), b.status_label, b.reason_text || '']);
  const archived = r.archived.map((e) => h('li', {},
    (e.stage === 'final' ? '最终开标记录' : '开标记录') + ' ' + e.format.toUpperCase() +
    '：SHA-256 ', h('code', {}, e.sha256), '，审计日志第 ' + e.ledger_seq + ' 条'));
  // Digests, audit-log positions and archive hashes are for whoever checks: on the 核验 panel.
  const checks = [
    ['开标记录摘要（SHA-256）', h('code', { id: 'digest-' + r.round }, r.digest)],
    ['公布记入审计日志', '第 ' + r.ledger_seq + ' 条'],
  ];
  if (r.final) checks.push(['最终记录摘要', [h('code', {}, r.final.digest), '（审计日志第 ' + r.final.ledger_seq + ' 条）']]);
  if (archived.length) checks.push(['归档（合规保留）', h('ul', { class: 'archived' }, archived)]);
  return h('section', { class: 'round', 'data-round': r.round },
    h('h2', {}, r.round_label ? '开标记录（' + r.round_label + '）' : '开标记录'),
    facts([
      ['解密时间', fmtRange(r.window_opened_at, r.window_closed_at, true)],
      ['公布时间', fmtTime(r.published_at, true)],
      ['开标结果', r.outcome_label + (r.reason ? '：' + r.reason : '')],
      ['开标结束', r.final ? fmtTime(r.final.closed_at, true) : '确认期未结束'],
    ]),
    table(head, rows),
    verifyPanel(checks));
}

async function main() {
  const tender = q.get('tender') || '';
  const section = q.get('section') || '';
  try {
    const rec = await api('GET', '/api/v1/public/tenders/' + encodeURIComponent(tender) +
      '/sections/' + encodeURIComponent(section) + '/record');
    box.replaceChildren(
      h('h2', { id: 'title' }, rec.tender_title),
      facts([
        ['项目编号', rec.tender_code],
        ['招标人', rec.tenderer],
        ['标段', rec.section_code + ' ' + rec.section_name],
        ['开标时间（投标截止时间）', fmtTime(rec.opening_at, true)],
      ]),
      ...rec.rounds.map(round));
  } catch (err) {
    box.replaceChildren(errorBox(err));
  }
}

main();
