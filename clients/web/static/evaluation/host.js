// The host's page (主持人): request a draw for a tender, follow its result and the answers of
// the drawn experts, record declines by phone, dispatch the committee to seats (a table and a
// map of seats by city), move an expert with a reason, publish the committee.
import {
  act, api, boot, confirmStep, countdown, errorBox, field, fmtRange, fmtTime, fromInput, h, okBox, select, serverNow, svg, table, toInput,
  verifyPanel,
} from '/assets/kaiping.js';
import {
  badge, catalog, cityName, drawStatus, exclusionReason, lines, memberState, param, setParam, specialtyOptions,
} from './common.js';

const $ = (id) => document.getElementById(id);
let cat;
let venues = [];
let tenders = [];
let tender = null;
let draw = null;
let members = [];

const me = await boot(['host', 'admin']);
if (me) await start();

async function start() {
  try {
    cat = await catalog();
    venues = (await api('GET', '/api/v1/venues')).venues;
    tenders = (await api('GET', '/api/v1/tenders')).tenders;
  } catch (e) {
    $('tender-list').replaceChildren(errorBox(e));
    return;
  }
  renderTenders();
  $('dispatch-run').addEventListener('click', dispatch);
  $('publish').addEventListener('click', publish);
  if (param('draw')) {
    await showDraw(param('draw'));
  } else if (param('tender')) {
    const t = tenders.find((x) => x.id === param('tender'));
    if (t) await chooseTender(t);
  }
}

function venueName(id) {
  const v = venues.find((x) => x.id === id);
  return v ? v.code + ' ' + v.name : id;
}

function renderTenders() {
  const rows = tenders.map((t) => [t.code, t.title, t.tenderer, fmtTime(t.deadline),
    h('button', { class: 'secondary', type: 'button', onclick: () => chooseTender(t) }, '选择')]);
  $('tender-list').replaceChildren(table(['项目编号', '项目名称', '招标人', '投标截止', ''], rows,
    (i) => ({ class: tender && tenders[i].id === tender.id ? 'selected' : null, 'data-tender': tenders[i].id })));
}

async function chooseTender(t) {
  tender = t;
  renderTenders();
  setParam('draw', '');
  setParam('tender', t.id);
  $('request').hidden = false;
  $('draws').hidden = false;
  renderRequestForm();
  await loadDraws();
}

// ---- the request ----------------------------------------------------------------------------

function quotaRow(code, count) {
  const row = h('div', { class: 'row quota' },
    field('专业', select({ class: 'quota-specialty', value: code }, specialtyOptions(cat, 1))),
    field('人数', h('input', { class: 'quota-count', type: 'number', min: 1, step: 1, value: count })),
    h('button', { type: 'button', class: 'secondary', onclick: () => row.remove() }, '删除'));
  return row;
}

function renderRequestForm() {
  // The session defaults to tomorrow, 09:00 to 17:00 Beijing time.
  const day = toInput(new Date(serverNow().getTime() + 24 * 3600 * 1000)).slice(0, 10);
  const hosts = venues.filter((v) => v.can_host).map((v) => [v.id, v.code + ' ' + v.name]);
  const form = h('form', { id: 'draw-form', novalidate: true, onsubmit: submitDraw },
    h('div', { class: 'row' },
      field('招标项目', h('input', { value: tender.code + ' ' + tender.title, readonly: true, size: 40 })),
      field('招标人', h('input', { value: tender.tenderer, readonly: true, size: 24 }))),
    h('div', { class: 'row' },
      field('委员会人数（5 人以上单数）', h('input', { id: 'committee-size', type: 'number', min: 5, step: 1, value: 5 })),
      field('招标人代表人数', h('input', { id: 'tenderer-reps', type: 'number', min: 0, step: 1, value: 0 })),
      field('异地专家比例（%）', h('input', { id: 'outside-share', type: 'number', min: 0, max: 100, value: 0 })),
      field('主场', select({ id: 'host-venue' }, hosts.length ? hosts : [['', '（没有具备主场条件的场地）']]))),
    h('div', { class: 'row' },
      field('评标开始（北京时间）', h('input', { id: 'session-start', type: 'datetime-local', value: day + 'T09:00' })),
      field('评标结束（北京时间）', h('input', { id: 'session-end', type: 'datetime-local', value: day + 'T17:00' })),
      field('专家应答时限（分钟）', h('input', { id: 'respond-minutes', type: 'number', min: 5, value: 30 }))),
    h('p', { class: 'hint' }, '专业配额：各专业人数之和应等于委员会人数减去招标人代表人数。'),
    h('div', { id: 'quotas' }, quotaRow('A01', 5)),
    h('button', { type: 'button', class: 'secondary', id: 'quota-add', onclick: () => $('quotas').append(quotaRow('A10', 1)) }, '添加专业'),
    h('div', { class: 'row' },
      field('行政监督部门（每行一个，其工作人员回避）', h('textarea', { id: 'supervisors' })),
      field('其他利害关系单位（每行一个）', h('textarea', { id: 'conflicts' }))),
    h('div', { class: 'row' },
      field('外部种子承诺值（可选：由监督人员持有种子时填写其 SHA-256）', h('input', { id: 'seed-commitment', size: 66 }))),
    h('div', { class: 'row' }, h('button', { id: 'draw-submit', type: 'submit' }, '提交抽取')));
  $('request-form').replaceChildren(form);
  $('request-msg').replaceChildren();
}

async function submitDraw(ev) {
  ev.preventDefault();
  const num = (id) => Number($(id).value);
  const req = {
    tender_id: tender.id,
    committee_size: num('committee-size'),
    tenderer_representatives: num('tenderer-reps'),
    quotas: [...document.querySelectorAll('#quotas .quota')].map((r) => ({
      specialty: r.querySelector('.quota-specialty').value,
      count: Number(r.querySelector('.quota-count').value),
    })),
    outside_share_percent: num('outside-share'),
    host_venue_id: $('host-venue').value,
    session: { start: fromInput($('session-start').value) || null, end: fromInput($('session-end').value) || null },
    respond_minutes: num('respond-minutes'),
    supervising_departments: lines($('supervisors').value),
    conflict_organisations: lines($('conflicts').value),
  };
  const commitment = $('seed-commitment').value.trim();
  if (commitment) req.seed_commitment = commitment;
  const d = await act($('request-msg'), () => api('POST', '/api/v1/draws', req), $('draw-submit'));
  if (!d) return;
  $('request-msg').replaceChildren(okBox('已提交抽取：' + drawStatus[d.status] + '（抽取编号 ' + d.id + '）'));
  await loadDraws();
  await showDraw(d.id);
}

async function loadDraws() {
  const res = await act($('draw-list'), () => api('GET', '/api/v1/draws?tender=' + encodeURIComponent(tender.id)));
  if (!res) return;
  $('draw-list').replaceChildren(table(['抽取时间', '状态', '委员会人数', ''], res.draws.map((d) => [
    fmtTime(d.created_at), badge(d.status, drawStatus), String(d.request.committee_size),
    h('button', { class: 'secondary', type: 'button', onclick: () => showDraw(d.id) }, '查看'),
  ])));
}

// ---- the draw -------------------------------------------------------------------------------

async function showDraw(id) {
  $('draw').hidden = false;
  const d = await act($('draw-msg'), () => api('GET', '/api/v1/draws/' + encodeURIComponent(id)));
  if (!d) return;
  draw = d;
  setParam('draw', d.id);
  if (!tender || tender.id !== d.tender_id) {
    tender = tenders.find((t) => t.id === d.tender_id) || null;
    renderTenders();
  }
  renderFacts(d);
  renderReveal(d);
  members = [];
  $('members').replaceChildren();
  $('release').replaceChildren();
  $('exclusions').replaceChildren();
  $('dispatch').hidden = d.status !== 'drawn';
  $('publish').hidden = !!d.published_at;
  if (d.status === 'drawn') await loadMembers();
  if (d.status === 'drawn' || d.status === 'awaiting_seed' || d.status === 'failed') await loadExclusions();
  if (d.status === 'drawn') await loadAssignments();
}

function renderFacts(d) {
  const quotas = d.rules.quotas.map((q) => {
    const s = cat.specialties.find((x) => x.code === q.specialty);
    return q.specialty + (s ? ' ' + s.name : '') + ' × ' + q.count;
  }).join('；');
  const facts = [
    ['抽取编号', d.id],
    ['招标项目', d.tender_code + '（招标人：' + d.tenderer + '）'],
    ['状态', badge(d.status, drawStatus)],
    ['评标委员会', d.request.committee_size + ' 人（招标人代表 ' + d.request.tenderer_representatives + ' 人，随机抽取专家 ' + d.rules.experts + ' 人）'],
    ['专业配额', quotas],
    ['异地专家', '至少 ' + d.rules.min_outside + ' 人（主场所在地：' + cityName(cat, d.rules.host_city) + '）'],
    ['主场', venueName(d.host_venue_id)],
    ['评标时间', fmtRange(d.request.session.start, d.request.session.end)],
    ['候选专家快照', d.snapshot_size ? d.snapshot_size + ' 名' : '—'],
    ['回避专家', d.excluded + ' 名'],
    ['结果公示', d.published_at ? fmtTime(d.published_at) : '未公示（公示前名单对招标人、投标人保密）'],
  ];
  const checks = [
    ['种子承诺值（SHA-256，抽取前已写入审计日志）', h('code', { class: 'digest', id: 'commitment' }, d.commitment)],
    ['种子', d.seed ? h('code', { class: 'digest', id: 'seed' }, d.seed) : '尚未揭示'],
    ['候选专家快照摘要', d.snapshot_digest ? h('code', { class: 'digest' }, d.snapshot_digest) : '—'],
    ['复核命令', h('code', {}, 'kaiping draw verify ' + d.id)],
  ];
  if (d.failure) facts.splice(3, 0, ['失败原因', d.failure]);
  $('draw-facts').replaceChildren(h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    verifyPanel(checks, { id: 'draw-verify' }));
}

function renderReveal(d) {
  if (d.status !== 'awaiting_seed') {
    $('reveal').replaceChildren();
    return;
  }
  const out = h('div');
  const seed = h('input', { id: 'reveal-seed', size: 66 });
  const btn = h('button', { type: 'submit' }, '揭示种子并抽取');
  $('reveal').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await act(out, () => api('POST', '/api/v1/draws/' + d.id + '/reveal', { seed: seed.value.trim() }), btn);
    if (r) await showDraw(d.id);
  } }, field('外部种子（十六进制，须与承诺值相符）', seed), btn), out);
}

async function loadMembers() {
  const res = await act($('members'), () => api('GET', '/api/v1/draws/' + draw.id + '/members'));
  if (!res) return;
  members = res.members;
  const rows = members.map((m, i) => {
    let respond = m.responded_at ? fmtTime(m.responded_at) : fmtTime(m.respond_by);
    if (m.state === 'pending') {
      const left = h('span', { class: 'countdown' });
      countdown(left, m.respond_by);
      respond = [fmtTime(m.respond_by), ' ', left];
    }
    return [String(i + 1), m.expert_code, m.expert_name, cityName(cat, m.city), m.quota, m.outside ? '异地' : '本地',
      m.round ? '递补第 ' + m.round + ' 轮' : '初选', badge(m.state, memberState), respond, m.reason || ''];
  });
  $('members').replaceChildren(table(['序号', '专家编号', '姓名', '所在城市', '专业配额', '异地', '轮次', '状态', '应答截止/应答时间', '说明'], rows,
    (i) => ({ 'data-expert': members[i].expert_id, 'data-state': members[i].state })));
  renderRelease();
}

function renderRelease() {
  const current = members.filter((m) => m.state === 'pending' || m.state === 'accepted');
  if (!current.length) {
    $('release').replaceChildren();
    return;
  }
  const out = h('div');
  const who = select({ id: 'release-expert' }, current.map((m) => [m.expert_id, m.expert_code + ' ' + m.expert_name]));
  const outcome = select({ id: 'release-outcome' }, [['declined', '电话告知拒绝参加'], ['no_show', '未应答或缺席']]);
  const reason = h('input', { id: 'release-reason', size: 30 });
  const btn = h('button', { type: 'submit', class: 'danger' }, '登记并递补');
  $('release').replaceChildren(h('h3', {}, '登记拒绝或缺席（按同一抽取序列递补）'),
    h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const dec = await act(out, () => api('POST', '/api/v1/draws/' + draw.id + '/members/' + who.value + '/release',
        { outcome: outcome.value, reason: reason.value }), btn);
      if (!dec) return;
      await showDraw(draw.id);
      $('draw-msg').replaceChildren(okBox(dec.replacement
        ? '已登记，递补专家：' + dec.replacement.expert_code + ' ' + dec.replacement.expert_name
        : '已登记；抽取序列中已无符合条件的专家，该席位空缺'));
    } }, field('专家', who), field('情况', outcome), field('原因', reason), btn), out);
}

async function loadExclusions() {
  const res = await act($('exclusions'), () => api('GET', '/api/v1/draws/' + draw.id + '/exclusions'));
  if (!res) return;
  const byReason = new Map();
  for (const x of res.exclusions) {
    for (const r of x.reasons) byReason.set(r.code, (byReason.get(r.code) || 0) + 1);
  }
  const detail = res.exclusions.map((x) => [h('code', {}, x.expert), x.reasons.map((r) => r.message).join('；')]);
  $('exclusions').replaceChildren(
    h('p', {}, '共 ' + res.exclusions.length + ' 名专家因回避未进入候选快照（一人可有多项原因）。'),
    table(['回避原因', '人数'], [...byReason].map(([code, n]) => [exclusionReason[code] || code, String(n)])),
    res.exclusions.length ? h('details', {}, h('summary', {}, '逐人明细'), table(['专家 ID', '原因'], detail)) : null);
}

// ---- dispatch -------------------------------------------------------------------------------

async function dispatch() {
  const res = await act($('dispatch-msg'), () => api('POST', '/api/v1/draws/' + draw.id + '/dispatch'), $('dispatch-run'));
  if (!res) return;
  $('dispatch-msg').replaceChildren(okBox('已分派 ' + res.assignments.length + ' 个工位，并通知专家'));
  renderAssignments(res.assignments);
}

async function publish() {
  // Publication names the committee to everyone: say first who has not answered yet.
  const unanswered = members.filter((m) => m.state === 'pending').map((m) => m.expert_code + ' ' + m.expert_name);
  const yes = await confirmStep({ danger: true,
    title: '公示评标专家名单',
    text: '此操作不可撤销：公示后，评标委员会成员名单对所有人可见，不能撤回。',
    missingLabel: '尚未应答的专家', missing: unanswered, allDone: '所有抽取的专家均已应答。', ok: '确认公示',
  });
  if (yes === null) return;
  const d = await act($('dispatch-msg'), () => api('POST', '/api/v1/draws/' + draw.id + '/publish'), $('publish'));
  if (!d) return;
  await showDraw(d.id);
  $('dispatch-msg').replaceChildren(okBox('评标专家名单已公示'));
}

async function loadAssignments() {
  const res = await act($('assignments'), () => api('GET', '/api/v1/draws/' + draw.id + '/assignments'));
  if (res) renderAssignments(res.assignments);
}

function renderAssignments(as) {
  const member = new Map(members.map((m) => [m.expert_id, m]));
  const rows = as.map((a) => {
    const m = member.get(a.expert_id) || {};
    return [m.expert_code || a.expert_id, m.expert_name || '', cityName(cat, m.city || ''), cityName(cat, a.city), a.venue_code,
      a.venue_name || venueName(a.venue_id), a.seat_code, h('span', { class: 'badge' + (a.host ? ' host' : '') }, a.host ? '主场' : '副场'),
      a.distance_km.toFixed(1), a.override_reason || ''];
  });
  $('assignments').replaceChildren(as.length
    ? table(['专家编号', '姓名', '专家所在城市', '工位所在城市', '场地编码', '场地', '工位', '类型', '距离（公里）', '调整原因'], rows,
      (i) => ({ 'data-expert': as[i].expert_id, 'data-city': as[i].city }))
    : h('p', { class: 'hint' }, '尚未分派工位。'));
  renderMap(as);
  renderOverride(as);
}

// renderMap draws the venues of the cities in use as a scatter of their coordinates
// (equirectangular, corrected for latitude): enough to see who sits where, with no map tiles
// from outside.
function renderMap(as) {
  const count = new Map();
  for (const a of as) count.set(a.venue_id, (count.get(a.venue_id) || 0) + 1);
  const cities = new Set(as.map((a) => a.city));
  const host = venues.find((v) => v.id === draw.host_venue_id);
  if (host) cities.add(host.city);
  const shown = venues.filter((v) => cities.has(v.city));
  if (!shown.length) {
    $('map').replaceChildren();
    return;
  }
  const lats = shown.map((v) => v.lat);
  const lons = shown.map((v) => v.lon);
  const pad = Math.max(0.15, (Math.max(...lats) - Math.min(...lats)) * 0.15, (Math.max(...lons) - Math.min(...lons)) * 0.15);
  const minLat = Math.min(...lats) - pad;
  const maxLat = Math.max(...lats) + pad;
  const minLon = Math.min(...lons) - pad;
  const maxLon = Math.max(...lons) + pad;
  const k = Math.cos(((minLat + maxLat) / 2) * Math.PI / 180);
  const W = 720;
  const scale = Math.min((W - 180) / ((maxLon - minLon) * k), 320 / (maxLat - minLat));
  const H = Math.round((maxLat - minLat) * scale) + 100;
  const x = (lon) => 90 + (lon - minLon) * k * scale;
  const y = (lat) => 50 + (maxLat - lat) * scale;
  const map = svg('svg', { class: 'map', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': '各地工位分布图' });
  for (let lon = Math.ceil(minLon * 2) / 2; lon <= maxLon; lon += 0.5) {
    map.append(svg('line', { class: 'grid-line', x1: x(lon), y1: 0, x2: x(lon), y2: H }),
      svg('text', { class: 'axis', x: x(lon) + 2, y: H - 4 }, lon.toFixed(1) + '°E'));
  }
  for (let lat = Math.ceil(minLat * 2) / 2; lat <= maxLat; lat += 0.5) {
    map.append(svg('line', { class: 'grid-line', x1: 0, y1: y(lat), x2: W, y2: y(lat) }),
      svg('text', { class: 'axis', x: 2, y: y(lat) - 2 }, lat.toFixed(1) + '°N'));
  }
  // Labels alternate above and below the markers, west to east, so neighbours do not overlap.
  shown.sort((a, b) => a.lon - b.lon).forEach((v, i) => {
    const n = count.get(v.id) || 0;
    const isHost = v.id === draw.host_venue_id;
    const r = 9 + 3 * n;
    const [cx, cy] = [x(v.lon), y(v.lat)];
    const ly = i % 2 ? cy + r + 16 : cy - r - 22;
    map.append(svg('g', { class: 'marker', 'data-venue': v.code, 'data-city': v.city, 'data-count': n },
      svg('title', {}, v.name + '，' + v.address),
      svg('circle', { class: 'venue' + (isHost ? ' host' : '') + (n ? '' : ' idle'), cx, cy, r }),
      n ? svg('text', { class: 'count', x: cx, y: cy }, n) : null,
      svg('text', { class: 'label', x: cx, y: ly }, cityName(cat, v.city) + ' ' + v.code),
      svg('text', { class: 'label axis', x: cx, y: ly + 13 }, (isHost ? '主场' : '副场') + ' · ' + n + ' 人')));
  });
  $('map').replaceChildren(map, h('p', { class: 'hint' }, '红色为主场，蓝色为副场，灰色为本次未使用的场地；圆内数字为分派到该场地的专家人数。'));
}

function renderOverride(as) {
  if (!as.length) {
    $('override').replaceChildren();
    return;
  }
  const member = new Map(members.map((m) => [m.expert_id, m]));
  const out = h('div');
  const who = select({ id: 'override-expert' }, as.map((a) => {
    const m = member.get(a.expert_id) || {};
    return [a.expert_id, (m.expert_code || '') + ' ' + (m.expert_name || a.expert_id) + '（现 ' + a.venue_code + ' ' + a.seat_code + '）'];
  }));
  const venue = select({ id: 'override-venue' }, venues.map((v) => [v.id, v.code + ' ' + v.name]));
  const seat = select({ id: 'override-seat' }, [['', '自动选择空闲工位']]);
  const reason = h('input', { id: 'override-reason', size: 30 });
  const btn = h('button', { type: 'submit' }, '调整工位');
  const loadSeats = async () => {
    const v = await act(out, () => api('GET', '/api/v1/venues/' + venue.value));
    if (!v) return;
    seat.replaceChildren(h('option', { value: '' }, '自动选择空闲工位'),
      ...v.seats.filter((s) => s.status === 'available').map((s) => h('option', { value: s.id }, s.code)));
  };
  venue.addEventListener('change', loadSeats);
  loadSeats();
  $('override').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { venue_id: venue.value, reason: reason.value };
    if (seat.value) body.seat_id = seat.value;
    const a = await act(out, () => api('PUT', '/api/v1/draws/' + draw.id + '/assignments/' + who.value, body), btn);
    if (!a) return;
    await loadAssignments();
    $('dispatch-msg').replaceChildren(okBox('已调整到 ' + a.venue_code + ' ' + a.seat_code + '，原因已记入审计日志'));
  } }, field('专家', who), field('目标场地', venue), field('工位', seat), field('调整原因（必填）', reason), btn), out);
}
