// FairShare admin page: plain JavaScript, no dependencies. The master key lives in `masterKey`
// (this page's memory) only: never in storage, never in a URL.
'use strict';

let masterKey = null;
let page = 1;
let totalPages = 1;
let aliasFilter = '';
let liveTimer = null;
let editingMetadata = {};

const $ = (id) => document.getElementById(id);

function status(text, ok) {
  const el = $('status');
  el.textContent = text || '';
  el.className = ok ? 'ok' : '';
}

/** Calls the API next to this page; resolves with the JSON answer, rejects with its error. */
async function api(method, path, body) {
  const init = { method, headers: { Authorization: 'Bearer ' + masterKey } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch('../' + path, init);
  } catch (e) {
    throw new Error('The server did not answer (' + e.message + ').');
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (!response.ok) {
    const message = json && json.error && json.error.message ? json.error.message : text;
    throw new Error(response.status + ': ' + message);
  }
  return json;
}

function cell(row, text) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined || text === '' ? '—' : String(text);
  row.appendChild(td);
  return td;
}

function button(label, onClick, name) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (name) {
    b.setAttribute('aria-label', label + ' ' + name);
  }
  b.addEventListener('click', onClick);
  return b;
}

// ------------------------------------------------------------------ sign in

async function signIn(event) {
  event.preventDefault();
  masterKey = $('master-key').value;
  $('master-key').value = '';
  try {
    await api('GET', 'key/list?page=1&size=1');
  } catch (e) {
    masterKey = null;
    status('Sign-in failed: ' + e.message);
    return;
  }
  status('');
  $('sign-in').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  showTab('keys');
}

function signOut() {
  masterKey = null;
  stopLive();
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
    // Nothing the signed-in session saw stays in the page: a raw key shown once, the form, the usage
  $('keys-table').querySelector('tbody').textContent = '';
  $('new-key-value').textContent = '';
  $('new-key').hidden = true;
  resetForm();
  $('live').textContent = '';
  $('history').textContent = '';
  status('Signed out.', true);
  $('master-key').focus();
}

// ------------------------------------------------------------------ tabs

function showTab(name) {
  for (const tab of document.querySelectorAll('.tab')) {
    const on = tab.dataset.tab === name;
    tab.setAttribute('aria-pressed', String(on));
    $('tab-' + tab.dataset.tab).hidden = !on;
  }
  stopLive();
  if (name === 'keys') {
    loadKeys();
  } else if (name === 'live') {
    loadLive();
    liveTimer = setInterval(loadLive, 2000);
  } else if (name === 'history') {
    loadHistory();
  }
}

function stopLive() {
  if (liveTimer !== null) {
    clearInterval(liveTimer);
    liveTimer = null;
  }
}

// ------------------------------------------------------------------ keys

async function loadKeys() {
  let answer;
  try {
    const query = 'key/list?return_full_object=true&size=20&page=' + page +
      (aliasFilter ? '&key_alias=' + encodeURIComponent(aliasFilter) : '');
    answer = await api('GET', query);
  } catch (e) {
    status('Could not list the keys: ' + e.message);
    return;
  }
  totalPages = Math.max(1, answer.total_pages);
  $('page-info').textContent = 'Page ' + answer.current_page + ' of ' + totalPages +
    ' (' + answer.total_count + ' keys)';
  $('page-prev').disabled = page <= 1;
  $('page-next').disabled = page >= totalPages;
  const body = $('keys-table').querySelector('tbody');
  body.textContent = '';
  for (const key of answer.keys) {
    const row = document.createElement('tr');
    row.dataset.token = key.token;
    const name = key.key_alias || key.key_name;
    cell(row, key.key_alias);
    cell(row, key.key_name);
    cell(row, key.models.length ? key.models.join(', ') : 'all');
    cell(row, key.tpm_limit);
    cell(row, key.rpm_limit);
    cell(row, key.max_parallel_requests);
    cell(row, key.metadata && key.metadata.priority);
    cell(row, key.blocked ? 'yes' : 'no').className = 'blocked';
    const actions = cell(row, '');
    actions.textContent = '';
    actions.appendChild(button('Edit', () => edit(key), name));
    actions.appendChild(button(key.blocked ? 'Unblock' : 'Block',
      () => act(key.blocked ? 'key/unblock' : 'key/block', { key: key.token },
        (key.blocked ? 'Unblocked ' : 'Blocked ') + name + '.'), name));
    actions.appendChild(button('Regenerate', () => regenerate(key), name));
    actions.appendChild(button('Delete', () => remove(key), name));
    body.appendChild(row);
  }
}

async function act(path, body, done) {
  try {
    await api('POST', path, body);
    status(done, true);
  } catch (e) {
    status(e.message);
  }
  loadKeys();
}

async function remove(key) {
  const name = key.key_alias || key.key_name;
  if (!window.confirm('Delete key ' + name + '? Its callers get 401 from now on.')) {
    return;
  }
  await act('key/delete', { keys: [key.token] }, 'Deleted ' + name + '.');
}

async function regenerate(key) {
  const name = key.key_alias || key.key_name;
  if (!window.confirm('Give ' + name + ' a new key? The old one stops working.')) {
    return;
  }
  try {
    const answer = await api('POST', 'key/regenerate', { key: key.token });
    showNewKey(answer.key);
    status('Regenerated ' + name + '.', true);
  } catch (e) {
    status(e.message);
  }
  loadKeys();
}

function showNewKey(raw) {
  $('new-key-value').textContent = raw;
  $('new-key').hidden = false;
  $('new-key-copy').focus();
}

/** A whole number, null when empty; throws with the field's name when it is not one. */
function number(id, label) {
  const text = $(id).value.trim();
  if (text === '') {
    return null;
  }
  if (!/^\d{1,15}$/.test(text)) {
    throw new Error(label + ' must be a whole number (or empty for none).');
  }
  return Number(text);
}

function formBody() {
  const body = {
    tpm_limit: number('f-tpm', 'TPM limit'),
    rpm_limit: number('f-rpm', 'RPM limit'),
    max_parallel_requests: number('f-parallel', 'Max parallel requests'),
    models: $('f-models').value.split(',').map((m) => m.trim()).filter((m) => m !== ''),
    // The key's other metadata is kept; only the priority is set (or removed) here
    metadata: Object.assign({}, editingMetadata),
  };
  const alias = $('f-alias').value.trim();
  if (alias !== '') {
    body.key_alias = alias;
  }
  const priority = $('f-priority').value.trim();
  if (priority !== '') {
    body.metadata.priority = priority;
  } else {
    delete body.metadata.priority;
  }
  return body;
}

async function submitKey(event) {
  event.preventDefault();
  let body;
  try {
    body = formBody();
  } catch (e) {
    status(e.message);
    return;
  }
  const token = $('edit-token').value;
  try {
    if (token) {
      body.key = token;
      await api('POST', 'key/update', body);
      status('Saved ' + (body.key_alias || 'the key') + '.', true);
      resetForm();
    } else {
      const answer = await api('POST', 'key/generate', body);
      showNewKey(answer.key);
      status('Generated ' + (answer.key_alias || answer.key_name) + '.', true);
      resetForm();
    }
  } catch (e) {
    status(e.message);
    return;
  }
  loadKeys();
}

function edit(key) {
  $('edit-token').value = key.token;
  editingMetadata = key.metadata || {};
  $('f-alias').value = key.key_alias || '';
  $('f-models').value = key.models.join(', ');
  $('f-tpm').value = key.tpm_limit === null ? '' : key.tpm_limit;
  $('f-rpm').value = key.rpm_limit === null ? '' : key.rpm_limit;
  $('f-parallel').value = key.max_parallel_requests === null ? '' : key.max_parallel_requests;
  $('f-priority').value = (key.metadata && key.metadata.priority) || '';
  $('key-form-title').textContent = 'Edit ' + (key.key_alias || key.key_name);
  $('key-form-submit').textContent = 'Save';
  $('key-form-cancel').hidden = false;
  $('f-alias').focus();
}

function resetForm() {
  $('key-form').reset();
  editingMetadata = {};
  $('edit-token').value = '';
  $('key-form-title').textContent = 'Generate a key';
  $('key-form-submit').textContent = 'Generate';
  $('key-form-cancel').hidden = true;
}

// ------------------------------------------------------------------ live usage

function percent(part, whole) {
  return Math.max(0, Math.min(100, (100 * part) / whole)) + '%';
}

async function loadLive() {
  let answer;
  try {
    answer = await api('GET', 'usage');
  } catch (e) {
    status('Could not read the usage: ' + e.message);
    return;
  }
  const live = $('live');
  live.textContent = '';
  for (const model of answer.models) {
    const section = document.createElement('section');
    section.className = 'model';
    section.dataset.model = model.model;
    const title = document.createElement('h3');
    title.textContent = model.model + ': ' + model.used_tokens + ' of ' +
      (model.tpm === null ? 'unlimited' : model.tpm) + ' tokens in the window, ' +
      model.active_keys + (model.active_keys === 1 ? ' active key, ' : ' active keys, ') +
      model.waiting + ' waiting';
    section.appendChild(title);
    for (const key of model.keys) {
      const row = document.createElement('div');
      row.className = 'bar-row';
      row.dataset.token = key.token;
      const name = document.createElement('span');
      name.textContent = key.key_alias || key.key_name || key.token.slice(0, 12);
      row.appendChild(name);
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.setAttribute('role', 'img');
      const capacity = model.tpm || Math.max(1, key.used_tokens);
      const share = key.share_tokens === null ? capacity : key.share_tokens;
      const own = Math.min(key.used_tokens, share);
      const borrowed = Math.max(0, key.used_tokens - share);
      bar.setAttribute('aria-label', (key.key_alias || 'key') + ' used ' + key.used_tokens +
        ' tokens, share ' + share + ', borrowed ' + borrowed);
      const used = document.createElement('div');
      used.className = 'used';
      used.style.width = percent(own, capacity);
      const lent = document.createElement('div');
      lent.className = 'borrowed';
      lent.style.left = percent(own, capacity);
      lent.style.width = percent(borrowed, capacity);
      const mark = document.createElement('div');
      mark.className = 'share';
      mark.style.left = percent(share, capacity);
      bar.append(used, lent, mark);
      row.appendChild(bar);
      const figures = document.createElement('span');
      figures.className = 'figures';
      figures.textContent = 'used ' + key.used_tokens + ' / share ' + share +
        (borrowed > 0 ? ', borrowed ' + borrowed : '') + ', refused ' + key.refusals +
        ', waiting ' + key.waiting;
      row.appendChild(figures);
      section.appendChild(row);
    }
    if (model.keys.length === 0) {
      const none = document.createElement('p');
      none.className = 'note';
      none.textContent = 'No key active in the window.';
      section.appendChild(none);
    }
    live.appendChild(section);
  }
}

// ------------------------------------------------------------------ history

async function loadHistory() {
  const to = new Date();
  const from = new Date(to.getTime() - 3600 * 1000);
  let answer;
  try {
    answer = await api('GET', 'usage/history?from=' + encodeURIComponent(from.toISOString()));
  } catch (e) {
    status('Could not read the history: ' + e.message);
    return;
  }
  const totals = new Map();
  for (const row of answer.rows) {
    const name = row.key_alias || row.key_name || row.token.slice(0, 12);
    totals.set(name, (totals.get(name) || 0) + row.input_tokens + row.output_tokens);
  }
  const history = $('history');
  history.textContent = '';
  if (totals.size === 0) {
    const none = document.createElement('p');
    none.className = 'note';
    none.textContent = 'No usage written in this hour or the last (it is written every few seconds).';
    history.appendChild(none);
    return;
  }
  const max = Math.max(...totals.values(), 1);
  const sorted = [...totals.entries()].sort((a, b) => b[1] - a[1]);
  const svgNs = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(svgNs, 'svg');
  const rowHeight = 24;
  svg.setAttribute('width', '640');
  svg.setAttribute('height', String(sorted.length * rowHeight + 4));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Tokens per key, this hour and the last');
  sorted.forEach(([name, tokens], i) => {
    const label = document.createElementNS(svgNs, 'text');
    label.setAttribute('x', '0');
    label.setAttribute('y', String(i * rowHeight + 16));
    label.textContent = name;
    const bar = document.createElementNS(svgNs, 'rect');
    bar.setAttribute('x', '160');
    bar.setAttribute('y', String(i * rowHeight + 4));
    bar.setAttribute('height', '16');
    bar.setAttribute('width', String(Math.max(1, (360 * tokens) / max)));
    bar.setAttribute('fill', '#2e7d32');
    bar.dataset.key = name;
    const value = document.createElementNS(svgNs, 'text');
    value.setAttribute('x', String(170 + (360 * tokens) / max));
    value.setAttribute('y', String(i * rowHeight + 16));
    value.textContent = tokens + ' tokens';
    value.dataset.key = name;
    svg.append(label, bar, value);
  });
  history.appendChild(svg);
}

// ------------------------------------------------------------------ wiring

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  for (const tab of document.querySelectorAll('.tab')) {
    tab.addEventListener('click', () => showTab(tab.dataset.tab));
  }
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    aliasFilter = $('search-alias').value.trim();
    page = 1;
    loadKeys();
  });
  $('search-clear').addEventListener('click', () => {
    $('search-alias').value = '';
    aliasFilter = '';
    page = 1;
    loadKeys();
  });
  $('page-prev').addEventListener('click', () => {
    page = Math.max(1, page - 1);
    loadKeys();
  });
  $('page-next').addEventListener('click', () => {
    page = Math.min(totalPages, page + 1);
    loadKeys();
  });
  $('key-form').addEventListener('submit', submitKey);
  $('key-form-cancel').addEventListener('click', resetForm);
  $('new-key-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('new-key-value').textContent);
      status('Copied.', true);
    } catch (e) {
      status('Copying was refused by the browser: select the key and copy it by hand.');
    }
  });
  $('new-key-done').addEventListener('click', () => {
    $('new-key-value').textContent = '';
    $('new-key').hidden = true;
  });
  $('master-key').focus();
});
