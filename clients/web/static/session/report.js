// report.js: the evaluation report (评标报告) of a session, /session/report/?id=<session>, for
// its members and its overseers (the evaluation host, supervisors). It shows the report as
// the server keeps it (its canonical JSON, read section by section: basics, committee, each
// section's opening record, comparison table with ranks and candidates, rejections, warnings
// with the committee's notes and decisions, then the clarification minutes), its digest, its
// PDF, and who has signed, dissented or been recorded refusing, and who has not. A member
// signs with their own key on their own machine: the browser cannot reach it (no local
// signing agent yet), so the page gives the exact `kaiping evaluation sign` command, with the
// dissent typed here put into it. The page follows the session's events and redraws when a
// signature arrives.
import { api, ApiError, boot, fmtRange, fmtTime, h, fmtClock } from '/assets/kaiping.js';
import {
  decisionKinds, fetchBlob, kindLabel, liveEvents, param, places, problem, put, run, stateBadge, yuan,
} from './common.js';

const $ = (id) => document.getElementById(id);
const j = JSON.stringify;

const id = param('id');
const methodNames = { comprehensive: '综合评估法', lowest_price: '经评审的最低投标价法' };
const signKinds = {
  signed: '已签字同意', dissent: '已签字，书面说明不同意见及理由', refused: '拒绝签字且未说明理由（主持人记录，视为同意）',
};

let member = false; // the page is a member's (else an overseer's)
let base = ''; // the session's route for this reader
let sess = null; // the session as this reader sees it
let view = null; // the ReportView, null before the report is built
let report = null; // its report
let pl = null; // venues and cities by code

const me = await boot(['expert', 'host', 'supervisor']);
if (me) start();

async function start() {
  if (!id) {
    $('page-msg').replaceChildren(h('p', {}, '请从评标工位或主持台进入评标报告（地址中带有 ?id=…）。'));
    return;
  }
  member = me.roles.includes('expert');
  base = (member ? '/api/v1/expert/sessions/' : '/api/v1/sessions/') + encodeURIComponent(id);
  $('back-link').href = member ? '/session/?id=' + encodeURIComponent(id)
    : (me.roles.includes('host') ? '/session/console/?id=' : '/session/watch/?id=') + encodeURIComponent(id);
  $('back-link').textContent = member ? '返回评标工位' : me.roles.includes('host') ? '返回主持台' : '返回监督页面';
  $('refresh').addEventListener('click', () => reload());
  pl = await places();
  if (!(await reload())) return;
  $('report').hidden = false;
  liveEvents(id, base, async (evs) => {
    if (evs.some((e) => e.type.startsWith('report.') || e.type.startsWith('session.'))) await reload();
  }, (err) => {
    $('live').textContent = err ? '连接中断，正在重试…' : '实时更新中';
    $('live').className = 'live ' + (err ? 'retry' : 'open');
  });
}

// reload reads the session and its report afresh; false when the session cannot be read.
async function reload() {
  const s = await run($('page-msg'), () => api('GET', base));
  if (!s) return false;
  sess = s;
  let v = null;
  try {
    v = await api('GET', base + '/report');
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 'report.not_built') {
      $('page-msg').replaceChildren(problem(e));
      return true;
    }
  }
  // An empty list may come as null (a Go nil slice).
  if (v) Object.assign(v, { signatures: v.signatures || [], unsigned: v.unsigned || [] });
  view = v;
  report = v ? v.report : null;
  render();
  return true;
}

// ---- names ---------------------------------------------------------------------------------

function memberName(mid) {
  const m = (report && report.committee.find((x) => x.id === mid)) || sess.members.find((x) => x.id === mid);
  return m ? m.name : '一名成员';
}

function groupName(gid) {
  const g = (sess.groups || []).find((x) => x.id === gid);
  return g ? g.name : '评标小组';
}

function cityName(code) {
  const c = pl && pl.cities.get(code);
  return c ? c.name : code || '—';
}

/** Hundredths of a point as points: 2550 → "25.5". */
function points(v) {
  return (Math.round(v) / 100).toString();
}

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function grid(attrs, heads, rows) {
  return h('table', { class: 'grid', ...attrs },
    h('thead', {}, h('tr', {}, heads.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows.length ? rows : h('tr', { class: 'empty' }, h('td', { colspan: heads.length }, '无'))));
}

// ---- the page ----------------------------------------------------------------------------------

function render() {
  put($('report-state'), j([sess.state, !!view]), () => {
    const out = [facts([['项目', sess.tender_code + ' ' + sess.tender_title], ['会议状态', stateBadge(sess.state)]])];
    if (!view) {
      out.push(h('p', { class: 'notice', id: 'not-built' }, sess.state === 'signing' || sess.state === 'closed'
        ? '评标报告尚未生成：主持人生成后本页自动显示。' : '评审结束、进入报告签署后，由主持人生成评标报告。'));
    }
    return out;
  });
  $('signers-card').hidden = !view;
  $('sign-card').hidden = !view || !member;
  if (!view) {
    $('report-head').replaceChildren();
    $('body').replaceChildren();
    return;
  }
  put($('report-head'), j([view.digest, view.pdf_revision, view.has_pdf, view.archive]), head);
  put($('signers'), j([view.digest, view.signatures]), signersTable);
  put($('unsigned'), j(view.unsigned), () => (view.unsigned.length
    ? h('p', { class: 'notice' }, '尚未签署：', h('span', { id: 'unsigned-names' }, view.unsigned.join('、')))
    : h('p', { class: 'ok', id: 'all-signed' }, '全体在席成员均已签署或由主持人记录拒签')));
  if (member) put($('sign'), j([view.digest, mine(), sess.state]), signPanel);
  put($('body'), view.digest, reportBody);
}

function head() {
  const rows = [
    ['招标人', report.tenderer],
    ['报告生成', fmtTime(report.built_at, true)],
    ['报告摘要（SHA-256）', h('code', { class: 'digest', id: 'digest' }, view.digest)],
  ];
  if (view.has_pdf) {
    const link = h('a', { id: 'pdf-link', href: '#', 'data-path': base + '/report/pdf' },
      '下载评标报告 PDF' + (view.pdf_revision ? '（已含 ' + view.pdf_revision + ' 名成员的电子签名）' : '（尚无电子签名）'));
    link.addEventListener('click', (ev) => {
      ev.preventDefault();
      downloadPDF(link);
    });
    rows.push(['报告 PDF', link]);
  } else rows.push(['报告 PDF', '本平台未生成报告 PDF，成员签署报告摘要']);
  if (view.archive) rows.push(['归档', '已于 ' + fmtTime(view.archive.at) + ' 以 15 年合规锁定归档（' + view.archive.objects.length + ' 个文件）']);
  return facts(rows);
}

// downloadPDF fetches the PDF with the session token (a link cannot carry it) and saves it.
async function downloadPDF(link) {
  const blob = await run($('pdf-msg'), () => fetchBlob(link.dataset.path));
  if (!blob) return;
  const url = URL.createObjectURL(new Blob([blob], { type: 'application/pdf' }));
  const a = h('a', { href: url, download: '评标报告-' + report.tender_code + '.pdf' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** The reader's own signature, if they are a member who has signed or was recorded refusing. */
function mine() {
  return member && sess.me ? view.signatures.find((g) => g.member_id === sess.me.id) || null : null;
}

function signersTable() {
  const sitting = report.committee.filter((m) => !m.replaced);
  return grid({ id: 'signers-table' }, ['成员', '评标小组', '签署情况', '时间（北京时间）', '不同意见或拒签经过', '电子签名'],
    sitting.map((m) => {
      const g = view.signatures.find((x) => x.member_id === m.id);
      const kind = g ? g.kind : 'unsigned';
      return h('tr', { 'data-member': m.id, 'data-kind': kind, class: 'signer ' + kind },
        h('td', {}, m.name, m.chair ? h('span', { class: 'hint' }, '（组长）') : null),
        h('td', {}, groupName(m.group)),
        h('td', {}, g ? signKinds[g.kind] || g.kind : h('span', { class: 'status waiting' }, '尚未签署')),
        h('td', {}, g ? fmtClock(g.at, true) : '—'),
        h('td', { class: 'dissent' }, g && g.dissent ? g.dissent : '—'),
        h('td', {}, !g || g.kind === 'refused' ? '—'
          : g.cms ? 'SM2 分离签名（CMS）' : g.pdf_revision ? 'PDF 电子签名（第 ' + g.pdf_revision + ' 个）' : '报告摘要签名'));
    }));
}

// ---- the member's signing ------------------------------------------------------------------------

/** s quoted for a POSIX shell: inside single quotes, a quote as '\''. */
function shellQuote(s) {
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

function signCommand(dissent) {
  const parts = ['kaiping', 'evaluation', 'sign', '--server', location.origin, '--session', id,
    '--cert', '您的证书.pem', '--key', '您的私钥.pem'];
  if (dissent) parts.push('--dissent', shellQuote(dissent));
  return parts.join(' ');
}

function signPanel() {
  const g = mine();
  if (g) {
    return h('p', { class: 'ok', id: 'my-signature' }, '您已于 ' + fmtTime(g.at, true) + ' ' + (signKinds[g.kind] || g.kind) +
      (g.dissent ? '：' + g.dissent : '') + '。');
  }
  if (sess.state !== 'signing') return h('p', { class: 'hint' }, '评标会议不在报告签署阶段，不能签署。');
  const cmd = h('pre', { class: 'bid-text', id: 'sign-command' }, signCommand(''));
  const text = h('textarea', { id: 'dissent', rows: 4, maxlength: 5000, placeholder: '同意本报告结论的，不必填写' });
  text.addEventListener('input', () => {
    cmd.textContent = signCommand(text.value.trim());
  });
  return [
    h('p', {}, '请核对本页所示的评标报告及其摘要，然后用您登记的证书私钥签署（签名对象为报告摘要与您的不同意见；' +
      'RSA、ECDSA 证书同时在报告 PDF 上签名，SM2 证书对报告正本作 CMS 分离签名）。'),
    h('p', { class: 'notice', id: 'no-agent' }, '浏览器无法使用您的私钥（UKEY 或密钥文件），本机签名代理程序尚未提供：' +
      '请在您的电脑上运行下面的命令完成签署。签署后本页自动更新。'),
    h('label', { class: 'field' }, h('span', {}, '不同意见及理由（可选；填写后即为“签字并书面说明不同意见”，内容写入命令）'), text),
    h('p', {}, '在本机运行：'),
    cmd,
    h('p', { class: 'hint' }, '将“您的证书.pem”“您的私钥.pem”换成您登录所用的证书与私钥文件；使用 UKEY 的，把 --key … 换成 ' +
      '--pkcs11 \'token=…;object=…\'（可加 --pkcs11-module 驱动库路径、--pkcs11-pin-file 口令文件）。' +
      '命令会先核对报告正本与摘要一致，再签名提交，并打印所签内容。'),
  ];
}

// ---- the report --------------------------------------------------------------------------------

function reportBody() {
  const out = [
    h('section', { class: 'card', id: 'basics' }, h('h2', {}, '一、基本情况'), facts([
      ['招标项目', report.tender_code + ' ' + report.tender_title],
      ['招标人', report.tenderer],
      ['项目类型', report.government_procurement ? '政府采购项目' : '工程建设项目'],
      ['评标时间', fmtRange(report.window.start, report.window.end)],
      ['评标地点', (report.sites || []).map(cityName).join('、') || '—'],
      ['评标办法', methodNames[report.method.kind] || report.method.kind],
      ['推荐中标候选人数', report.method.candidates ? String(report.method.candidates) : '—'],
    ])),
    h('section', { class: 'card', id: 'committee' }, h('h2', {}, '二、评标委员会成员名单'),
      grid({ id: 'committee-table' }, ['姓名', '类别', '评标小组', '所在地', '备注'], report.committee.map((m) => h('tr', { 'data-member': m.id },
        h('td', {}, m.name, m.chair ? h('span', { class: 'hint' }, '（组长）') : null),
        h('td', {}, kindLabel(m.kind)), h('td', {}, groupName(m.group)), h('td', {}, cityName(m.city)),
        h('td', {}, m.replaced || '—'))))),
  ];
  for (const s of report.sections) out.push(sectionCard(s));
  out.push(h('section', { class: 'card', id: 'clarifications' }, h('h2', {}, '十、澄清、说明、补正事项纪要'), clarifications()));
  return out;
}

function sectionCard(s) {
  const names = new Map(s.bids.map((b) => [b.bidder_id, b.name]));
  const name = (b) => names.get(b) || '（未知投标人）';
  const scored = report.method.kind === 'comprehensive';
  const cand = new Map(s.candidates.map((c, i) => [c.bidder_id, i + 1]));
  const heads = ['排名', '投标人', '投标报价（元）', '评标价（元）'];
  if (scored) heads.push('技术得分', '价格得分', '综合得分');
  heads.push('推荐');
  return h('section', { class: 'card report-section', 'data-section': s.section_id },
    h('h2', {}, '标段 ' + s.code + ' ' + s.name + '（' + groupName(s.group) + '）'),
    h('h3', {}, '三、开标记录'),
    grid({ class: 'grid opened' }, ['投标人', '投标报价（元）', '开标'], s.bids.map((b) => h('tr', { 'data-bidder': b.bidder_id },
      h('td', {}, b.name), h('td', { class: 'num' }, yuan(b.price)), h('td', {}, b.opened ? '已解密' : '未解密')))),
    h('h3', {}, '四、七、八：符合要求的投标、比较一览表与排序'),
    grid({ class: 'grid result comparison' }, heads, s.result.bids.map((b) => h('tr', {
      'data-bidder': b.bidder, class: (cand.has(b.bidder) ? 'candidate' : '') + (b.valid ? '' : ' invalid'),
    },
    h('td', {}, b.valid ? String(b.rank) : '—'),
    h('td', {}, name(b.bidder), b.valid ? null : h('div', { class: 'hint' }, b.rejected ? '已否决' : '未通过初步评审')),
    h('td', { class: 'num' }, yuan(b.price)), h('td', { class: 'num' }, yuan(b.evaluated)),
    scored ? [h('td', { class: 'num' }, points(b.technical)), h('td', { class: 'num' }, points(b.price_score)), h('td', { class: 'num' }, points(b.total))] : null,
    h('td', {}, cand.has(b.bidder) ? h('span', { class: 'badge candidate' }, '第' + '一二三四五六七八九'[cand.get(b.bidder) - 1] + '中标候选人') : '—')))),
    h('h3', {}, '九、推荐的中标候选人'),
    s.candidates.length
      ? h('ol', { class: 'candidates-list' }, s.candidates.map((c) => h('li', { 'data-bidder': c.bidder_id },
        c.name + '（投标报价 ' + yuan(c.price) + ' 元' + (scored ? '，综合得分 ' + points(c.total) : '') + '，排名第 ' + c.rank + '）')))
      : h('p', {}, '无'),
    h('h3', {}, '五、否决投标情况'),
    s.rejected.length
      ? h('ul', { class: 'rejections' }, s.rejected.map((r) => h('li', { 'data-bidder': r.bidder_id },
        h('strong', {}, r.name), '：',
        (r.failed || []).length ? '初步评审未通过（' + r.failed.join('、') + '）' : '',
        r.ground ? '否决投标，' + r.ground + (r.text ? '。' + r.text : '') : '')))
      : h('p', {}, '无'),
    h('h3', {}, '评标委员会的决定'),
    (s.decisions || []).length
      ? h('ul', { class: 'decisions' }, s.decisions.map((d) => h('li', { 'data-bidder': d.bidder_id },
        name(d.bidder_id) + '：' + (decisionKinds[d.kind] || d.kind) + (d.amount ? '（' + yuan(d.amount) + ' 元）' : '') +
        (d.text ? '。' + d.text : '') + '（' + memberName(d.by) + '，' + fmtTime(d.at) + '）')))
      : h('p', {}, '无'),
    h('h3', {}, '签署前提示及评标委员会的书面说明'),
    (s.warnings || []).length
      ? h('ul', { class: 'warnings' }, s.warnings.map((w) => h('li', { class: 'warning ' + (w.hard ? 'hard' : 'soft'), 'data-code': w.code },
        h('strong', {}, w.hard ? '须纠正：' : '提示：'), w.message,
        (w.bidders || []).length ? '（' + w.bidders.map(name).join('、') + '）' : '',
        w.note ? h('div', { class: 'note' }, '评标委员会说明：' + w.note.text + '（' + memberName(w.note.by) + '，' + fmtTime(w.note.at) + '）')
          : h('div', { class: 'hint' }, '无书面说明'))))
      : h('p', {}, '无'),
    h('p', { class: 'hint' }, '评审输入摘要（组长汇总时冻结）：', h('code', { class: 'digest' }, s.inputs_digest)));
}

function clarifications() {
  const cs = report.clarifications || [];
  if (!cs.length) return h('p', {}, '评标委员会未向投标人发出书面澄清、说明或补正请求。');
  const secs = new Map(report.sections.map((s) => [s.section_id, s]));
  return h('ol', { class: 'clarification-list' }, cs.map((c) => {
    const s = secs.get(c.section_id);
    return h('li', { 'data-bidder': c.bidder_id },
      h('div', {}, h('strong', {}, (s ? s.code + ' ' : '') + c.bidder_name + ' · ' + c.kind), '（' + c.state + '，' + fmtTime(c.asked_at) + ' 发出）'),
      h('pre', { class: 'bid-text' }, c.question),
      c.answer ? [h('div', {}, '答复（' + fmtTime(c.answered_at) + '）：'), h('pre', { class: 'bid-text' }, c.answer)] : h('p', { class: 'hint' }, '未答复'));
  }));
}
