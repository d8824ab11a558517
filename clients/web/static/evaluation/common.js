// What the evaluation pages share: the Chinese names of states and codes, and the catalogs.
import { api, h } from '/assets/kaiping.js';

export const drawStatus = {
  committed: '已承诺种子', awaiting_seed: '等待揭示外部种子', drawn: '已抽取', failed: '抽取失败',
};

export const memberState = {
  pending: '待应答', accepted: '已确认参加', declined: '已拒绝', no_show: '未应答或缺席',
};

export const expertStatus = { active: '正常', suspended: '暂停', on_leave: '请假' };

export const seatStatus = { available: '可用', maintenance: '维护中', retired: '停用' };

export const equipment = {
  camera: '高清摄像头', microphone: '拾音器', dual_screen: '双显示屏', id_reader: '身份证阅读器',
  fingerprint: '指纹识别仪', signature_pad: '电子签名板', printer: '打印机', voice_changer: '变声答疑终端',
};

/** Avoidance (回避) reason codes of evaluation/draw, as a summary names them. */
export const exclusionReason = {
  status_suspended: '评标资格暂停', status_on_leave: '请假', penalised: '受处理禁止评标',
  unavailable: '申报不可参加', busy: '同时段已参加其他评标', employer_tenderer: '任职于招标人',
  employer_bidder: '任职于投标人', employer_interested: '任职于利害关系单位', relation: '申报的关联关系',
  recent_tenderer: '回避期内评审过同一招标人项目', supervisor_staff: '行政监督部门工作人员',
};

/** A coloured label of a state. */
export function badge(state, labels) {
  return h('span', { class: 'badge ' + state }, labels[state] || state);
}

let catalogs;

/** The city and specialty catalogs, fetched once: { cities: Map, specialties: [] }. */
export function catalog() {
  if (!catalogs) {
    catalogs = Promise.all([api('GET', '/api/v1/cities'), api('GET', '/api/v1/specialties')]).then(([c, s]) => ({
      cities: new Map(c.cities.map((x) => [x.code, x])),
      specialties: s.specialties,
    }));
    catalogs.catch(() => { catalogs = undefined; });
  }
  return catalogs;
}

/** The name of a city code, or the code. */
export function cityName(cat, code) {
  const c = cat.cities.get(code);
  return c ? c.name : code;
}

/** Options for a <select> of specialties, indented by level; levelMin leaves out the classes. */
export function specialtyOptions(cat, levelMin) {
  return cat.specialties.filter((s) => s.level >= levelMin)
    .map((s) => [s.code, '\u3000'.repeat(s.level - 1) + s.code + ' ' + s.name]);
}

/** Options for a <select> of cities, by province. */
export function cityOptions(cat) {
  return [...cat.cities.values()].map((c) => [c.code, c.province + ' ' + c.name + '（' + c.code + '）']);
}

/** The lines of a textarea, trimmed, without empty ones. */
export function lines(text) {
  return text.split('\n').map((s) => s.trim()).filter((s) => s);
}

/** The query parameter name of this page's address. */
export function param(name) {
  return new URLSearchParams(location.search).get(name) || '';
}

/** Puts name=value into this page's address (and history), so a reload shows the same thing. */
export function setParam(name, value) {
  const q = new URLSearchParams(location.search);
  if (value) q.set(name, value); else q.delete(name);
  const s = q.toString();
  history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
}
