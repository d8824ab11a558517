// The administrator's page (系统管理员): the expert pool (list, CSV import with an error per
// bad row, status, linking an expert to their login) and the seat directory (venues, seats,
// venue staff).
import { ApiError, act, api, boot, errorBox, field, h, okBox, select, table } from '/assets/kaiping.js';
import {
  badge, catalog, cityName, cityOptions, equipment, expertStatus, seatStatus, specialtyOptions,
} from './common.js';

const $ = (id) => document.getElementById(id);
const pageSize = 50;
let cat;
let principals = [];
let filter = { city: '', specialty: '', status: '', offset: 0 };

const me = await boot(['admin']);
if (me) await start();

async function start() {
  try {
    cat = await catalog();
    principals = (await api('GET', '/api/v1/principals')).principals;
  } catch (e) {
    $('experts').replaceChildren(errorBox(e));
    return;
  }
  renderImport();
  renderFilter();
  renderVenueForm();
  await Promise.all([loadExperts(), loadVenues()]);
}

// ---- import ---------------------------------------------------------------------------------

function renderImport() {
  const file = h('input', { id: 'import-file', type: 'file', accept: '.csv,text/csv' });
  const btn = h('button', { id: 'import-run', type: 'submit' }, '导入');
  $('import-form').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const msg = $('import-msg');
    if (!file.files.length) {
      msg.replaceChildren(errorBox(new ApiError(0, 'import.no_file', '请先选择要导入的 CSV 文件', null)));
      return;
    }
    const data = await file.files[0].arrayBuffer();
    let res;
    try {
      btn.disabled = true;
      res = await api('POST', '/api/v1/experts/import', data, { type: 'text/csv' });
    } catch (e) {
      msg.replaceChildren(errorBox(e));
      const rows = e.body && e.body.rows;
      if (rows) {
        msg.append(table(['行号', '列', '问题'], rows.map((r) => [String(r.row), r.column, r.message])));
      }
      return;
    } finally {
      btn.disabled = false;
    }
    msg.replaceChildren(okBox('已导入 ' + res.imported + ' 名专家（文件 SHA-256：' + res.sha256 + '）'));
    await loadExperts();
  } }, field('CSV 文件', file), btn));
}

// ---- the pool -------------------------------------------------------------------------------

function renderFilter() {
  const city = select({ id: 'filter-city' }, [['', '全部城市'], ...cityOptions(cat)]);
  const spec = select({ id: 'filter-specialty' }, [['', '全部专业'], ...specialtyOptions(cat, 1)]);
  const status = select({ id: 'filter-status' }, [['', '全部状态'], ...Object.entries(expertStatus)]);
  $('expert-filter').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: (ev) => {
    ev.preventDefault();
    filter = { city: city.value, specialty: spec.value, status: status.value, offset: 0 };
    loadExperts();
  } }, field('城市', city), field('专业', spec), field('状态', status), h('button', { type: 'submit' }, '筛选')));
}

async function loadExperts() {
  const q = new URLSearchParams({ limit: pageSize, offset: filter.offset });
  for (const k of ['city', 'specialty', 'status']) if (filter[k]) q.set(k, filter[k]);
  const res = await act($('experts'), () => api('GET', '/api/v1/experts?' + q));
  if (!res) return;
  const list = res.experts;
  const rows = list.map((e) => [e.code, e.name, e.employer, (e.titles || []).join('、'), e.specialties.join('、'),
    cityName(cat, e.city), badge(e.status, expertStatus), e.principal_id ? '已关联' : '未关联',
    h('button', { type: 'button', class: 'secondary', onclick: () => renderActions(e) }, '管理')]);
  const pager = h('div', { class: 'row' },
    h('span', { class: 'hint' }, '第 ' + (filter.offset + 1) + '–' + (filter.offset + list.length) + ' 名'),
    filter.offset > 0 ? h('button', { type: 'button', class: 'secondary', onclick: () => page(-pageSize) }, '上一页') : null,
    list.length === pageSize ? h('button', { type: 'button', class: 'secondary', onclick: () => page(pageSize) }, '下一页') : null);
  $('experts').replaceChildren(table(['专家编号', '姓名', '工作单位', '职称', '评标专业', '所在城市', '状态', '登录账号', ''], rows,
    (i) => ({ 'data-code': list[i].code })), pager);
}

function page(delta) {
  filter.offset = Math.max(0, filter.offset + delta);
  loadExperts();
}

// renderActions shows what an admin can do to one expert: change the status (with the reason
// the API requires for leaving "active") and link the expert to a login.
function renderActions(e) {
  const out = h('div');
  const status = select({ id: 'status-value', value: e.status }, Object.entries(expertStatus));
  const reason = h('input', { id: 'status-reason', size: 30 });
  const statusBtn = h('button', { type: 'submit' }, '变更状态');
  const logins = principals.filter((p) => p.roles.includes('expert'));
  const login = select({ id: 'link-principal', value: e.principal_id || '' },
    [['', '（请选择评标专家账号）'], ...logins.map((p) => [p.id, p.name + (p.org ? '（' + p.org + '）' : '')])]);
  const linkBtn = h('button', { type: 'submit' }, '关联登录账号');
  $('expert-actions').replaceChildren(h('h3', {}, '管理专家 ' + e.code + ' ' + e.name),
    h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const r = await act(out, () => api('POST', '/api/v1/experts/' + e.id + '/status', { status: status.value, reason: reason.value }), statusBtn);
      if (!r) return;
      out.replaceChildren(okBox('已将 ' + r.name + ' 的状态变更为“' + expertStatus[r.status] + '”'));
      await loadExperts();
    } }, field('状态', status), field('原因（暂停、请假必填）', reason), statusBtn),
    h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      const r = await act(out, async () => {
        const current = await api('GET', '/api/v1/experts/' + e.id);
        const x = {};
        // PUT takes the expert's own fields only: the profile also lists history and the like.
        for (const k of ['code', 'name', 'phone', 'employer', 'titles', 'specialties', 'city', 'lat', 'lon']) x[k] = current[k];
        x.principal_id = login.value || undefined;
        return api('PUT', '/api/v1/experts/' + e.id, x);
      }, linkBtn);
      if (!r) return;
      out.replaceChildren(okBox(r.principal_id ? '已关联登录账号' : '已解除登录账号关联'));
      await loadExperts();
    } }, field('登录账号', login), linkBtn), out);
}

// ---- venues and seats -----------------------------------------------------------------------

async function loadVenues() {
  const res = await act($('venues'), () => api('GET', '/api/v1/venues'));
  if (!res) return;
  $('venues').replaceChildren(table(['场地编码', '名称', '城市', '地址', '坐标', '主场条件', ''], res.venues.map((v) => [
    v.code, v.name, cityName(cat, v.city), v.address, v.lat.toFixed(4) + ', ' + v.lon.toFixed(4), v.can_host ? '可作主场' : '副场',
    h('button', { type: 'button', class: 'secondary', onclick: () => showVenue(v.id) }, '工位'),
  ]), (i) => ({ 'data-venue': res.venues[i].code })));
}

function renderVenueForm() {
  const code = h('input', { id: 'venue-code', size: 12, placeholder: '410200-001' });
  const name = h('input', { id: 'venue-name', size: 24 });
  const city = select({ id: 'venue-city' }, cityOptions(cat));
  const address = h('input', { id: 'venue-address', size: 30 });
  const lat = h('input', { id: 'venue-lat', type: 'number', step: 'any', size: 10 });
  const lon = h('input', { id: 'venue-lon', type: 'number', step: 'any', size: 10 });
  const canHost = h('input', { id: 'venue-can-host', type: 'checkbox' });
  const btn = h('button', { type: 'submit' }, '新增场地');
  const out = h('div');
  $('venue-form').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const v = await act(out, () => api('POST', '/api/v1/venues', {
      code: code.value, name: name.value, city: city.value, address: address.value,
      lat: Number(lat.value), lon: Number(lon.value), can_host: canHost.checked,
    }), btn);
    if (!v) return;
    out.replaceChildren(okBox('已新增场地 ' + v.code + ' ' + v.name));
    await loadVenues();
  } }, field('场地编码', code), field('名称', name), field('城市', city), field('地址', address), field('纬度', lat), field('经度', lon),
  h('label', { class: 'check' }, canHost, '具备主场条件'), btn), out);
}

async function showVenue(id) {
  $('venue-detail').hidden = false;
  const v = await act($('seats'), () => api('GET', '/api/v1/venues/' + id));
  if (!v) return;
  $('venue-title').textContent = '场地工位：' + v.code + ' ' + v.name;
  const out = h('div');
  $('seats').replaceChildren(table(['工位', '设备', '状态', '变更状态'], v.seats.map((s) => {
    const st = select({ value: s.status }, Object.entries(seatStatus));
    const save = h('button', { type: 'button', class: 'secondary', onclick: async () => {
      const r = await act(out, () => api('PUT', '/api/v1/seats/' + s.id, { equipment: s.equipment, status: st.value }), save);
      if (r) await showVenue(id);
    } }, '保存');
    return [s.code, s.equipment.map((x) => equipment[x] || x).join('、'), badge(s.status, seatStatus), h('span', {}, st, ' ', save)];
  })), out);

  const code = h('input', { id: 'seat-code', size: 6, placeholder: 'A01' });
  const boxes = Object.entries(equipment).map(([k, label]) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: k, checked: ['camera', 'microphone', 'dual_screen', 'id_reader'].includes(k) }), label));
  const seatBtn = h('button', { type: 'submit' }, '新增工位');
  const seatOut = h('div');
  $('seat-form').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const eq = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    const s = await act(seatOut, () => api('POST', '/api/v1/venues/' + id + '/seats', { code: code.value, equipment: eq }), seatBtn);
    if (s) await showVenue(id);
  } }, field('工位编号', code), boxes, seatBtn), seatOut);

  const staff = principals.filter((p) => p.roles.includes('venue_staff'));
  const who = select({ id: 'staff-principal' }, [['', '（请选择场地工作人员账号）'], ...staff.map((p) => [p.id, p.name])]);
  const staffBtn = h('button', { type: 'submit' }, '指派');
  const staffOut = h('div');
  $('staff-form').replaceChildren(h('form', { class: 'inline', novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await act(staffOut, () => api('POST', '/api/v1/venues/' + id + '/staff', { principal_id: who.value }), staffBtn);
    if (r) staffOut.replaceChildren(okBox('已指派，该工作人员可查看本场地的工位预订'));
  } }, field('账号', who), staffBtn), staffOut);
}
