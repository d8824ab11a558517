// pledge.js: signing the integrity pledge (评标承诺书) in the browser. The key never leaves
// the expert's machine: they choose their key file (PKCS#8 PEM, ECDSA P-256) and their
// certificate (PEM); WebCrypto signs evaluation.PledgeMessage with ECDSA and SHA-256 here, and
// only the signature and the certificate's fingerprint go to the server, which verifies with
// certsign.Verify (an ASN.1 DER signature: WebCrypto's raw r‖s is converted).
import { ApiError } from '/assets/kaiping.js';

const fail = (code, message) => new ApiError(0, code, message, null);

/** The bytes of the first PEM block of type in text. */
export function pemBytes(text, type) {
  const m = new RegExp('-----BEGIN ' + type + '-----([\\s\\S]*?)-----END ' + type + '-----').exec(text);
  if (!m) return null;
  const bin = atob(m[1].replace(/\s+/g, ''));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** Lowercase hex of bytes. */
export function hex(bytes) {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Standard Base64 of bytes (what Go's []byte JSON field reads). */
export function base64(bytes) {
  let bin = '';
  for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Hex SHA-256 of text (UTF-8) or bytes. */
export async function sha256Hex(data) {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

// derInt encodes an unsigned big-endian integer as a DER INTEGER.
function derInt(b) {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.slice(i);
  if (v[0] & 0x80) v = Uint8Array.of(0, ...v);
  return Uint8Array.of(0x02, v.length, ...v);
}

/** The ASN.1 DER ECDSA-Sig-Value of WebCrypto's raw r‖s signature (P-256: 64 bytes). */
export function rawToDer(raw) {
  const half = raw.length / 2;
  const body = Uint8Array.of(...derInt(raw.slice(0, half)), ...derInt(raw.slice(half)));
  return Uint8Array.of(0x30, body.length, ...body);
}

// readTLV reads one DER element at off: its tag, where its content starts and ends.
function readTLV(b, off) {
  const tag = b[off];
  let len = b[off + 1];
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i];
    start += n;
  }
  return { tag, start, end: start + len };
}

/** The subjectPublicKey bytes of a DER certificate (for EC keys: 04‖X‖Y). */
export function certPublicKey(der) {
  const cert = readTLV(der, 0);
  const tbs = readTLV(der, cert.start);
  let off = tbs.start;
  if (der[off] === 0xa0) off = readTLV(der, off).end; // [0] version
  for (let i = 0; i < 5; i++) off = readTLV(der, off).end; // serial, signature, issuer, validity, subject
  const spki = readTLV(der, off);
  const alg = readTLV(der, spki.start);
  const bits = readTLV(der, alg.end);
  return der.slice(bits.start + 1, bits.end); // skip the unused-bits byte
}

function b64url(s) {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * Signs message with the key in keyPem, for the certificate in certPem: resolves to
 * {certificate_fingerprint, signature} for POST …/pledge. Refuses, with a Chinese message,
 * a key the browser cannot use (not PKCS#8 ECDSA P-256: an SM2 key) and a key that is not the
 * certificate's.
 */
export async function signPledge(keyPem, certPem, message) {
  const pkcs8 = pemBytes(keyPem, 'PRIVATE KEY');
  if (!pkcs8) throw fail('page.key_file', '所选私钥文件不是 PKCS#8 PEM 格式（应以 -----BEGIN PRIVATE KEY----- 开头）');
  const certDer = pemBytes(certPem, 'CERTIFICATE');
  if (!certDer) throw fail('page.cert_file', '所选证书文件不是 PEM 格式（应以 -----BEGIN CERTIFICATE----- 开头）');
  let key;
  try {
    key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  } catch (e) {
    throw fail('page.key_unsupported', '浏览器只能使用 ECDSA P-256 私钥签名；SM2 等其他证书请使用交易中心的 kaiping 工具签署承诺书');
  }
  const jwk = await crypto.subtle.exportKey('jwk', key);
  let point;
  try {
    point = certPublicKey(certDer);
  } catch (e) {
    throw fail('page.cert_file', '无法读取所选证书文件');
  }
  const want = Uint8Array.of(4, ...b64url(jwk.x), ...b64url(jwk.y));
  if (point.length !== want.length || point.some((b, i) => b !== want[i])) {
    throw fail('page.key_mismatch', '所选私钥与证书不匹配，请选择同一张数字证书的私钥和证书文件');
  }
  const raw = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, new TextEncoder().encode(message)));
  return { certificate_fingerprint: await sha256Hex(certDer), signature: base64(rawToDer(raw)) };
}
