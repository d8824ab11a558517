// bidder.js: the committee's written requests to this bidder (澄清、说明、补正; arithmetic
// correction; below-cost explanation), /inquiry/bidder.html, across every evaluation session.
// A request comes from "评标委员会": nothing on this page (nor in what the server sends it)
// names a member. The bidder answers in writing before the deadline, signed with the key of
// the certificate it registered: in the browser with an ECDSA P-256 key file (pledge.js), or
// on its own computer (`kaiping inquiry sign`, OpenSSL, a CA token) with the Base64 signature
// pasted here. Attachments are not taken: the answer says where the evidence is.
import { act, api, ApiError, boot, countdown, field, fmtTime, h, okBox } from '/assets/kaiping.js';
import { pemBytes, sha256Hex, signPledge } from '/session/pledge.js';
import { answerMessage, decisionLabels, kindLabels, stateBadge, yuan } from './common.js';

const $ = (id) => document.getElementById(id);
const me = await boot(['bidder']);
if (me) load();

async function load() {
  const res = await act($('page-msg'), () => api('GET', '/api/v1/bidder/inquiries'));
  if (!res) return;
  $('list').replaceChildren(res.inquiries.length === 0
    ? h('p', { class: 'hint', id: 'none' }, '评标委员会没有向我方发出书面请求。')
    : h('div', {}, ...res.inquiries.map(card)));
}

function card(q) {
  const facts = [
    h('div', {}, '项目：' + q.tender_code + ' ' + q.tender_title + '，标段：' + q.section_code + ' ' + q.section_name),
    h('div', {}, '来自：' + q.from + '，发出时间：' + fmtTime(q.sent_at) + '，答复期限：' + fmtTime(q.deadline) + ' ', stateBadge(q.state)),
    h('pre', { class: 'text question' }, q.question),
  ];
  if (q.kind === 'correction') facts.push(h('div', { class: 'corrected' }, '修正后的投标报价：' + yuan(q.corrected_price)));
  const box = h('section', { class: 'inquiry', 'data-inquiry': q.id, 'data-state': q.state },
    h('h3', {}, kindLabels[q.kind] || q.kind), ...facts);
  if (q.answer) {
    box.append(h('div', { class: 'answer' },
      h('div', {}, fmtTime(q.answer.at) + ' 我方' + (decisionLabels[q.answer.decision] || q.answer.decision) + '（已签名）：'),
      h('pre', { class: 'text' }, q.answer.text || '（无文字说明）')));
  } else if (q.state === 'sent') {
    const left = h('span', { class: 'countdown' });
    box.append(h('p', {}, '距答复期限：', left), answerForm(q));
    countdown(left, q.deadline, () => box.querySelector('.submit').disabled = true);
  }
  return box;
}

// drafts keeps the answers being written, by inquiry, across redraws (answering one request
// redraws the list).
const drafts = new Map();

// answerForm: the text (and for a correction the decision), then the signature over it.
function answerForm(q) {
  const text = h('textarea', { class: 'answer-text', maxlength: '10000', value: drafts.get(q.id) || '' });
  text.addEventListener('input', () => drafts.set(q.id, text.value));
  const decisions = q.kind === 'correction' ? ['confirm', 'refuse'] : ['answer'];
  const choice = h('div', { class: 'decisions' }, ...(decisions.length > 1 ? decisions.map((d) =>
    h('label', {}, h('input', { type: 'radio', name: 'decision-' + q.id, value: d }), ' ' + decisionLabels[d])) : []));
  const decision = () => decisions.length === 1 ? decisions[0] : (choice.querySelector('input:checked') || {}).value;
  const msg = h('pre', { class: 'sign message' });
  const show = async () => {
    const d = decision();
    msg.textContent = d ? answerMessage(q.id, await sha256Hex(text.value), d) : '（请先选择确认或不接受修正）';
  };
  text.addEventListener('input', show);
  choice.addEventListener('change', show);
  show();
  const cert = h('input', { type: 'file', class: 'cert-file', accept: '.pem,.crt,.cer' });
  const key = h('input', { type: 'file', class: 'key-file', accept: '.pem,.key' });
  const pasted = h('textarea', { class: 'signature', spellcheck: 'false' });
  const out = h('div', { class: 'msg' });
  const submit = h('button', { type: 'button', class: 'submit' }, '签名并提交答复');
  submit.addEventListener('click', () => act(out, async () => {
    const d = decision();
    if (!d) throw new ApiError(0, 'page.decision', '请选择确认修正或不接受修正');
    if (!cert.files[0]) throw new ApiError(0, 'page.cert_file', '请选择报名时登记的证书文件（PEM）');
    const certPem = await cert.files[0].text();
    const message = answerMessage(q.id, await sha256Hex(text.value), d);
    let signed;
    if (key.files[0]) {
      signed = await signPledge(await key.files[0].text(), certPem, message);
    } else {
      const sig = pasted.value.replace(/\s+/g, '');
      if (!sig) throw new ApiError(0, 'page.signature_missing', '请选择私钥文件在浏览器中签名，或粘贴在本机所作的签名（Base64）');
      const der = pemBytes(certPem, 'CERTIFICATE');
      if (!der) throw new ApiError(0, 'page.cert_file', '所选证书文件不是 PEM 格式（应以 -----BEGIN CERTIFICATE----- 开头）');
      signed = { certificate_fingerprint: await sha256Hex(der), signature: sig };
    }
    await api('POST', '/api/v1/bidder/inquiries/' + encodeURIComponent(q.id) + '/answer',
      { text: text.value, decision: d, ...signed });
    out.replaceChildren(okBox('答复已签名提交'));
    await load();
  }, submit));
  return h('div', { class: 'answer-form' },
    field('书面答复（不得改变投标文件的实质性内容）', text), choice,
    h('p', { class: 'hint' }, '答复以下面的文字签名（末行后有换行；第三行是答复内容 UTF-8 的 SHA-256）。',
      'ECDSA P-256 私钥文件可在浏览器中签名；SM2 等其他证书请在本机运行 kaiping inquiry sign --inquiry ' + q.id +
      ' --text-file 答复.txt' + (decisions.length > 1 ? ' --decision confirm|refuse' : '') + '，把输出的签名粘贴到下面。'),
    msg,
    h('div', { class: 'row' }, field('证书文件（PEM）', cert), field('私钥文件（PKCS#8 PEM，ECDSA P-256）', key)),
    field('或粘贴签名（Base64）', pasted),
    submit, out);
}
