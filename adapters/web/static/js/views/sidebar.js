// The sidebar: who we are, rooms with unread badges, creating a room, and
// people with presence. Below 768px it is a drawer opened by the ☰ button.

import { store, roomLabel, compareRooms } from '../store.js';
import { $, h, reconcile, batched, toast } from '../dom.js';
import { roomPath } from '../router.js';
import { createRoom, openDirect } from '../actions.js';
import { askNotificationPermission, notificationState } from '../attention.js';

export function initSidebar() {
  const draw = batched(drawAll);
  for (const topic of ['rooms', 'users', 'route', 'me']) store.on(topic, draw);
  store.on('route', closeDrawer);

  $('new-room-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $('new-room-name');
    const name = input.value.trim();
    if (!name) {
      toast('Give the new room a name.');
      input.focus();
      return;
    }
    $('new-room-submit').disabled = true;
    if (await createRoom(name, $('new-room-kind').value)) input.value = '';
    $('new-room-submit').disabled = false;
  });

  $('people-list').addEventListener('click', (ev) => {
    const person = ev.target.closest('[data-user-id]');
    if (person) openDirect(person.dataset.userId);
  });

  $('notify-button').addEventListener('click', askNotificationPermission);

  $('sidebar-toggle').addEventListener('click', () => setDrawer(!isDrawerOpen()));
  $('drawer-backdrop').addEventListener('click', closeDrawer);
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && isDrawerOpen()) {
      closeDrawer();
      $('sidebar-toggle').focus();
    }
  });
}

function drawAll() {
  if (!store.me) {
    // Signed out: leave nothing of the last user's data in the page.
    reconcile($('room-list'), [], () => null);
    reconcile($('people-list'), [], () => null);
    return;
  }
  $('me-name').textContent = store.me.username;
  $('admin-link').hidden = !store.isAdmin();
  drawNotifyButton();
  drawRooms();
  drawPeople();
}

function drawRooms() {
  const active = store.route.page === 'chat' ? store.route.roomId : null;
  const rooms = [...store.rooms.values()].sort(compareRooms);
  // Keyed and valued by id, redrawn only when the stamp (what the item
  // shows) changes: every refresh of the list brings new room objects, and
  // re-creating the links then would drop a click whose press and release
  // straddle the refresh, and the focus of a keyboard user.
  reconcile(
    $('room-list'),
    rooms.map((r) => ({
      key: r.id,
      value: r.id,
      stamp: [roomLabel(r), r.kind, r.member, r.member ? r.unread || 0 : 0, r.id === active].join('|'),
    })),
    (id) => roomItem(store.rooms.get(id), id === active),
  );
}

const ICONS = { public: '#', private: '', direct: '@' }; // private: a CSS padlock

function roomItem(r, active) {
  const label = roomLabel(r);
  const unread = r.member ? r.unread || 0 : 0;
  const described = [label, r.member ? null : 'not joined', unread ? `${unread} unread` : null].filter(Boolean);
  return h(
    'li',
    {},
    h(
      'a',
      {
        href: roomPath(r.id),
        'data-nav': true,
        'data-room-id': r.id,
        'data-kind': r.kind,
        class: ['room-link', active && 'active', !r.member && 'not-member', unread && 'has-unread'].filter(Boolean).join(' '),
        'aria-current': active ? 'page' : null,
        'aria-label': described.join(', '),
      },
      h('span', { class: `room-icon${r.kind === 'private' ? ' lock' : ''}`, 'aria-hidden': 'true' }, ICONS[r.kind] ?? '#'),
      h('span', { class: 'room-name' }, label),
      unread ? h('span', { class: 'unread-badge', 'aria-hidden': 'true' }, String(unread)) : null,
    ),
  );
}

function drawPeople() {
  const me = store.me?.id;
  const people = [...store.users.values()]
    .filter((u) => u.id !== me)
    .sort((a, b) => Number(b.online) - Number(a.online) || a.username.localeCompare(b.username));
  // By id, like the rooms: a refresh of the list must not re-create them.
  reconcile(
    $('people-list'),
    people.map((u) => ({ key: u.id, value: u.id, stamp: `${u.username}|${Boolean(u.online)}` })),
    (id) => personItem(store.users.get(id)),
  );
}

function personItem(u) {
  return h(
    'li',
    {},
    h(
      'button',
      {
        type: 'button',
        class: 'person',
        'data-user-id': u.id,
        'aria-label': `Message ${u.username} (${u.online ? 'online' : 'offline'})`,
      },
      h('span', { class: `presence-dot${u.online ? ' online' : ''}`, 'aria-hidden': 'true' }),
      h('span', { class: 'person-name' }, u.username),
    ),
  );
}

function drawNotifyButton() {
  const b = $('notify-button');
  const state = notificationState();
  b.hidden = state === 'unsupported';
  b.disabled = state !== 'default';
  b.textContent = { default: 'Enable notifications', granted: 'Notifications on', denied: 'Notifications blocked' }[state] ?? '';
}

const isDrawerOpen = () => document.body.classList.contains('drawer-open');

function setDrawer(open) {
  document.body.classList.toggle('drawer-open', open);
  $('sidebar-toggle').setAttribute('aria-expanded', String(open));
  $('drawer-backdrop').hidden = !open;
  if (open) $('sidebar').querySelector('a, button, input')?.focus();
}

function closeDrawer() {
  if (isDrawerOpen()) setDrawer(false);
}
