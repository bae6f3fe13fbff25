// The administrators' page: accounts by status, with approve, reject and
// deactivate. Only shown to role admin (the server enforces it anyway).

import { api, explain } from '../api.js';
import { store } from '../store.js';
import { $, h, formatFull, toast, confirmAction } from '../dom.js';

// Which actions make sense in which state (PROTOCOL.md: approve and reject
// only a pending account; deactivate anyone not already deactivated).
const ACTIONS = {
  pending: ['approve', 'reject'],
  approved: ['deactivate'],
  rejected: [],
  deactivated: [],
};
const LABELS = { approve: 'Approve', reject: 'Reject', deactivate: 'Deactivate' };

export function initAdmin() {
  store.on('route', () => {
    if (store.route.page === 'admin' && store.isAdmin()) load();
  });
  $('admin-refresh').addEventListener('click', load);
  $('admin-page').addEventListener('click', onClick);
}

async function load() {
  try {
    const [pending, approved, rejected, deactivated] = await Promise.all(
      ['pending', 'approved', 'rejected', 'deactivated'].map((s) => api.adminUsers(s)),
    );
    fill('admin-pending', pending.users, 'Nobody is waiting.');
    fill('admin-approved', approved.users, 'No approved accounts.');
    fill('admin-inactive', [...rejected.users, ...deactivated.users], 'None.');
  } catch (err) {
    toast(`Could not load accounts: ${explain(err)}`);
  }
}

function fill(tbodyId, users, empty) {
  const rows = users
    .sort((a, b) => a.username.localeCompare(b.username))
    .map(row);
  $(tbodyId).replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, empty))]));
}

function row(u) {
  const self = u.id === store.me?.id;
  // Administrators cannot deactivate themselves; no point offering it.
  const actions = (ACTIONS[u.status] ?? []).filter((a) => !(self && a === 'deactivate'));
  return h(
    'tr',
    { 'data-user-id': u.id, 'data-username': u.username, 'data-status': u.status },
    h('td', {}, u.username, self ? ' (you)' : ''),
    // data-label names the value where the header row is hidden (phones).
    h('td', { 'data-label': 'Status' }, u.status),
    h('td', { 'data-label': 'Roles' }, (u.roles ?? []).join(', ') || '—'),
    h('td', { 'data-label': 'Registered' }, u.created_at ? formatFull(u.created_at) : ''),
    h(
      'td',
      { class: 'row-actions' },
      actions.map((a) =>
        h('button', { type: 'button', class: `${a} small`, 'aria-label': `${LABELS[a]} ${u.username}` }, LABELS[a]),
      ),
    ),
  );
}

async function onClick(ev) {
  const button = ev.target.closest('button');
  const tr = button?.closest('tr[data-user-id]');
  if (!tr) return;
  const action = ['approve', 'reject', 'deactivate'].find((a) => button.classList.contains(a));
  if (!action) return;
  const name = tr.dataset.username;
  if (
    action === 'deactivate' &&
    !(await confirmAction(`Deactivate ${name}? They are signed out everywhere at once.`, 'Deactivate'))
  ) {
    return;
  }
  button.disabled = true;
  try {
    const { user } = await api[action](tr.dataset.userId);
    toast(`${user.username} is now ${user.status}.`);
  } catch (err) {
    toast(`Could not ${action} ${name}: ${explain(err)}`);
  }
  await load();
}
