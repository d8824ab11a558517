// The bidder's hall (投标人开标大厅): the host's live video, check-in, the countdown of the
// decrypt window against the server's clock, the bidder's own envelopes with their place in
// the verification queue, the opening record once published, the signed confirmation, the
// objection and the host's answers. Everything arrives over the live connection; a reload
// or a reconnection shows the current state.
import { act, api, ApiError, boot, field, fmtTime, h, okBox, table } from '/assets/kaiping.js';
import { $, chooseHall, envBadge, followHall, hallOf, kindLabel, recordTable, renderHead } from './common.js';
import { hallCountdown, startHallClock } from './live.js';
import { hallVideo } from './media.js';

startHallClock($('hall-clock'));
const me = await boot(['bidder']);
const hall = hallOf();
let shownRecord = ''; // digest of the record on the page
let formDigest = ''; // digest the confirmation form was drawn for
let video = null; // the host's live video, once the hall is followed

if (me && !hall) {
  $('choose').hidden = false;
  chooseHall($('choose'), '/hall/bidder.html');
} else if (me) {
  for (const id of ['hall', 'media', 'checkin', 'decrypt', 'events']) $(id).hidden = false;
  $('checkin-btn').addEventListener('click', (ev) => act($('checkin-msg'), () => api('POST', hall.path + '/checkins'), ev.target));
  $('object-btn').addEventListener('click', object);
  video = hallVideo($('video'), hall.path, { auto: true });
  followHall(hall.path, hall.path, new Map([[me.id, '我方']]), render);
}

function render(v) {
  renderHead($('head'), v);
  video.update(v.state);
  renderCheckIn(v);
  renderWindow(v);
  $('envelopes').replaceChildren(table(['投标文件', '解密状态', '错误密钥次数'],
    v.envelopes.map((e) => [kindLabel[e.kind] || e.kind, envBadge(e), String(e.attempts)]),
    (i) => ({ 'data-kind': v.envelopes[i].kind, 'data-state': v.envelopes[i].state })));
  $('unlock-hint').textContent = '解密在您本机进行（证书私钥不离开本机）：解密窗口开启后运行 kaiping bid unlock --server ' +
    location.origin + ' --tender ' + v.tender_id + ' --section ' + v.section_code + ' --cert 证书.pem --key 私钥.pem，本页实时显示排队位置与验证进度。';
  renderRecord(v);
  renderObjections(v.objections || []);
}

function renderCheckIn(v) {
  const open = v.state === 'checking_in' || v.state === 'decrypting';
  $('checkin-btn').disabled = !open || !!v.checked_in;
  let text = '签到尚未开始';
  if (v.checked_in) text = '已签到（' + fmtTime(v.checked_in.at, true) + '）';
  else if (open) text = '签到进行中，请点击“签到”';
  else if (v.state !== 'bidding' && v.state !== 'sealed') text = '签到已结束，未签到';
  $('checkin-state').textContent = text;
}

function renderWindow(v) {
  $('window').replaceChildren(
    h('dt', {}, '解密开始'), h('dd', {}, fmtTime(v.window_opens_at, true)),
    h('dt', {}, '解密截止'), h('dd', {}, fmtTime(v.window_closes_at, true)));
  const cd = $('countdown');
  if (v.state === 'decrypting' && v.window_closes_at) {
    hallCountdown(cd, v.window_closes_at, '解密时间已到，正在公布开标记录');
  } else {
    clearInterval(Number(cd.dataset.timer));
    cd.textContent = v.state === 'bidding' || v.state === 'sealed' || v.state === 'checking_in' ? '解密尚未开始' : '解密已结束';
  }
}

function renderRecord(v) {
  if (!v.record) return;
  $('record').hidden = false;
  if (shownRecord !== v.record.digest) {
    shownRecord = v.record.digest;
    $('record-body').replaceChildren(recordTable(v.record));
  }
  $('object').hidden = v.state !== 'published' && v.state !== 'confirming';
  $('confirm').hidden = v.state !== 'confirming' && !v.confirmation;
  if (v.confirmation) {
    $('confirm-state').replaceChildren(okBox('已于 ' + fmtTime(v.confirmation.at, true) + ' 签名确认开标记录'));
    $('confirm-form').replaceChildren();
    formDigest = '';
  } else if (v.state === 'confirming' && formDigest !== v.record.digest) {
    formDigest = v.record.digest;
    $('confirm-state').replaceChildren();
    $('confirm-form').replaceChildren(...confirmForm(v));
  }
}

// The browser cannot sign with the certificate's key (a CA token or a key file it cannot
// reach): the bidder signs on its own computer and pastes or uploads the signature.
function confirmForm(v) {
  const digest = v.record.digest;
  const message = 'KAIPING-RECORD-V1\n' + digest;
  return [
    h('p', {}, '确认须使用您报名本标段时登记的数字证书私钥，对下面两行文字签名（第二行末尾没有换行）。',
      '浏览器无法调用证书私钥，请在本机签名后，把签名（Base64）粘贴到下面，或上传签名文件。'),
    h('pre', { class: 'sign', id: 'sign-message' }, message),
    h('p', { class: 'hint' }, '签名算法：SM2 证书为 SM2 签名、SM3 杂凑（用户标识 1234567812345678）；',
      'ECDSA P-256 证书为 ECDSA、SHA-256（DER 编码）；RSA 证书为 RSA PKCS#1 v1.5、SHA-256。',
      '私钥为 PEM 文件时，可用 OpenSSL 签名：'),
    h('pre', { class: 'sign' },
      "printf 'KAIPING-RECORD-V1\\n" + digest + "' | openssl dgst -sha256 -sign 私钥.pem | base64 -w0\n" +
      "printf 'KAIPING-RECORD-V1\\n" + digest + "' | openssl dgst -sm3 -sign 私钥.pem -sigopt distid:1234567812345678 | base64 -w0   （SM2 证书）"),
    h('div', { class: 'row' },
      field('签名（Base64）', h('textarea', { id: 'signature', spellcheck: 'false' })),
      field('或上传签名文件（DER 或 Base64）', h('input', { id: 'signature-file', type: 'file' })),
      h('button', { id: 'confirm-btn', type: 'button', onclick: (ev) => confirm(digest, ev.target) }, '提交签名，确认开标记录')),
  ];
}

async function confirm(digest, button) {
  await act($('confirm-msg'), async () => {
    let sig = $('signature').value.replace(/\s+/g, '');
    const file = $('signature-file').files[0];
    if (!sig && file) sig = await fileSignature(file);
    if (!sig) throw new ApiError(0, 'page.signature_missing', '请粘贴签名或上传签名文件');
    await api('POST', hall.path + '/confirmations', { digest, signature: sig });
    $('confirm-msg').replaceChildren(okBox('签名已提交，开标记录已确认'));
  }, button);
}

// A signature file holds Base64 text (as `base64 -w0` writes it) or the raw DER bytes.
async function fileSignature(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder().decode(bytes).replace(/\s+/g, '');
  if (/^[A-Za-z0-9+/]+=*$/.test(text) && text.length % 4 === 0) return text;
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

async function object(ev) {
  await act($('object-msg'), async () => {
    await api('POST', hall.path + '/objections', { text: $('objection-text').value });
    $('objection-text').value = '';
    $('object-msg').replaceChildren(okBox('异议已提交并记录，请等待主持人答复'));
  }, ev.target);
}

function renderObjections(list) {
  $('messages').hidden = list.length === 0;
  $('objections').replaceChildren(...list.map((o) => h('div', { class: 'objection', 'data-objection': o.id },
    h('div', {}, fmtTime(o.raised_at, true) + ' 我方异议：' + o.text),
    o.answered_at
      ? h('div', { class: 'answer' }, fmtTime(o.answered_at, true) + ' 主持人答复：' + o.answer)
      : h('div', { class: 'waiting' }, '等待主持人答复…'))));
}
