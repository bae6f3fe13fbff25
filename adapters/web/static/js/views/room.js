// The frame around a conversation: which of "pick a room", "cannot show
// this room", "join to read" or the room itself is on screen, the header
// with its actions, and the add-member dialog.

import { store, roomLabel } from '../store.js';
import { $, h, batched } from '../dom.js';
import { addMember, joinRoom, leaveRoom } from '../actions.js';
import { autosize } from './composer.js';

const KIND_NAMES = { public: 'Public room', private: 'Private room', direct: 'Direct messages' };

export function initRoomView() {
  const draw = batched(drawRoom);
  store.on('route', draw);
  store.on('rooms', draw);
  store.on('me', draw);

  $('join-room').addEventListener('click', () => joinRoom(store.route.roomId));
  $('leave-room').addEventListener('click', () => leaveRoom(store.route.roomId));
  $('add-member').addEventListener('click', openAddMember);

  const dialog = $('add-member-dialog');
  dialog.addEventListener('close', () => {
    const userId = $('add-member-user').value;
    if (dialog.returnValue === 'add' && userId) addMember(store.route.roomId, userId);
    $('add-member').focus();
  });
}

function drawRoom() {
  const { page, roomId } = store.route;
  const room = store.currentRoom();
  const error = roomId ? store.roomError : null;

  $('room-empty').hidden = page !== 'chat' || Boolean(roomId);
  $('room-error').hidden = !error;
  $('room-error').textContent = error ?? '';
  $('room-view').hidden = !room;
  // The room's own header names it; the bar above only names the page.
  $('topbar-title').textContent = page === 'admin' ? 'Accounts' : 'Chat';
  if (!room) return;

  $('room-title').textContent = roomLabel(room);
  const members = room.members === 1 ? '1 member' : `${room.members ?? 0} members`;
  $('room-meta').textContent = `${KIND_NAMES[room.kind] ?? room.kind} · ${members}`;

  $('join-room').hidden = room.member;
  $('join-notice').hidden = room.member;
  $('leave-room').hidden = !room.member || room.kind === 'direct'; // nobody leaves a direct room
  $('add-member').hidden = !room.member || room.kind !== 'private';
  $('composer-form').hidden = !room.member;
  $('message-scroll').hidden = !room.member;
  // Measurable only now that it shows (a draft may wait in it).
  if (room.member) autosize();
}

function openAddMember() {
  const me = store.me?.id;
  const people = [...store.users.values()]
    .filter((u) => u.id !== me)
    .sort((a, b) => a.username.localeCompare(b.username));
  const select = $('add-member-user');
  select.replaceChildren(...people.map((u) => h('option', { value: u.id }, u.username)));
  $('add-member-submit').disabled = people.length === 0;
  const dialog = $('add-member-dialog');
  dialog.returnValue = '';
  dialog.showModal();
  select.focus();
}
