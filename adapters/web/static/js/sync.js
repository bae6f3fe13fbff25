// Keeps the store in step with the server: room and user lists over HTTP,
// one socket subscription per member room, and every server frame.
//
// Resuming: each room's Timeline remembers `synced`, the last seq received
// over the socket. After any reconnect every member room is subscribed
// again with after=synced, and the server replays exactly what was missed;
// Timeline merges by seq, so nothing is lost or shown twice. A truncated
// replay is skipped and the history re-paged over HTTP instead.

import { api } from './api.js';
import { store } from './store.js';
import { fillGap, loadNewest } from './history.js';
import { notifyMessage } from './attention.js';
import { onTyping, clearTyping } from './typing.js';

// A room subscribed for the first time replays this many recent events, so
// its timeline opens with the member and room lines around the newest
// messages, not only the messages HTTP history returns.
const LOOKBACK = 50;
// Keep this many items of rooms not on screen; older ones page back in.
const KEEP_OFFSCREEN = 500;
const POLL_MS = 15_000;

let socket = null;
let pollTimer = null;
const subscribed = new Set(); // room ids subscribed on the current socket
const subscribing = new Set();
const replayHead = new Map(); // room id → head at subscribe: events ≤ it are catch-up
const roomRefresh = new Map(); // room id → timer, to coalesce GET /api/rooms/{id}

export function initSync(s) {
  socket = s;
}

/** Starts the slow poll that notices rooms and people the socket cannot tell about. */
export function startSync() {
  clearInterval(pollTimer);
  // Nothing on the socket announces a new public room, a room we were
  // added to (a direct message, a private room) or a newly approved user:
  // a slow poll does, and so does coming back to the tab.
  pollTimer = setInterval(poll, POLL_MS);
  window.addEventListener('focus', poll);
  document.addEventListener('visibilitychange', poll);
}

let lastPoll = 0;

function poll() {
  // Focus and visibility often fire together; one refresh is enough.
  if (!socket.isOpen || document.hidden || Date.now() - lastPoll < 2_000) return;
  lastPoll = Date.now();
  refreshRooms().catch(() => {});
  refreshUsers().catch(() => {});
}

export function stopSync() {
  clearInterval(pollTimer);
  window.removeEventListener('focus', poll);
  document.removeEventListener('visibilitychange', poll);
  subscribed.clear();
  subscribing.clear();
  replayHead.clear();
}

/** After every hello: the first connection and each reconnect. */
export async function onReady(hello) {
  store.me = hello.user;
  store.emit('me');
  try {
    // The list comes before the subscriptions (refreshRooms makes them), so
    // the unread counts it brings and the events the replay brings do not
    // count a message twice.
    await refreshRooms();
  } catch {
    // Resume with the rooms we know; the poll fetches the list later.
    for (const room of store.memberRooms()) subscribe(room.id);
  }
  refreshUsers().catch(() => {});
}

export function onStatus(status) {
  store.connection = status;
  if (status !== 'open') {
    subscribed.clear();
    replayHead.clear();
  }
  store.emit('connection');
}

// A list fetched before a local change (a room created, joined, left while
// it was in flight) must not undo that change: each change is numbered,
// and a list only speaks for rooms not changed since it was asked for.
let changes = 0;
const changedAt = new Map(); // room id → change number

/** Marks a room as just changed by the user's own action. */
export function touch(roomId) {
  changedAt.set(roomId, ++changes);
}

export async function refreshRooms() {
  const asked = changes;
  const { rooms } = await api.rooms();
  const fresh = (id) => (changedAt.get(id) ?? 0) <= asked;
  const seen = new Set(rooms.map((r) => r.id));
  for (const r of rooms) if (fresh(r.id)) applyRoom(r);
  for (const id of [...store.rooms.keys()]) {
    if (!seen.has(id) && fresh(id)) dropRoom(id);
  }
  store.emit('rooms');
  for (const room of store.memberRooms()) subscribe(room.id);
}

export async function refreshUsers() {
  const { users } = await api.users();
  store.users = new Map(users.map((u) => [u.id, u]));
  store.emit('users');
}

/** Takes a Room the server just answered for one room (an action, a GET). */
export function mergeRoom(r) {
  touch(r.id);
  applyRoom(r);
}

// Counts come from the server unless our own copy is ahead (events reached
// us before the server's read model caught up).
function applyRoom(r) {
  const old = store.rooms.get(r.id);
  if (!old || r.head >= old.head) {
    const lastRead = Math.max(r.last_read, old?.last_read ?? 0);
    store.rooms.set(r.id, { ...r, last_read: lastRead, unread: lastRead >= r.head ? 0 : r.unread });
  } else {
    store.rooms.set(r.id, { ...old, name: r.name, members: r.members, member: r.member });
  }
  if (old?.member && !r.member) unsubscribe(r.id);
}

function dropRoom(id) {
  unsubscribe(id);
  store.rooms.delete(id);
}

/** Subscribes a member room on the open socket, resuming where it left off. */
export async function subscribe(roomId) {
  const room = store.rooms.get(roomId);
  if (!socket.isOpen || !room?.member || subscribed.has(roomId) || subscribing.has(roomId)) return;
  const tl = store.timeline(roomId);
  const after = tl.synced ?? Math.max(0, (room.head || 0) - LOOKBACK);
  subscribing.add(roomId);
  try {
    // The reply is handled before the replay's first event: each frame is
    // its own task, and this continuation runs in a microtask.
    const reply = await socket.request({ type: 'subscribe', room: roomId, after });
    subscribed.add(roomId);
    replayHead.set(roomId, reply.head);
    if (reply.truncated) {
      tl.resetTo(reply.head);
      refreshRoom(roomId); // too much was missed to count unread locally
      if (store.route.roomId === roomId) loadNewest(roomId);
    } else {
      tl.startAt(after);
    }
    store.emit('timeline', roomId);
  } catch (err) {
    // Removed from the room while away: the list will say so.
    if (err.code === 'forbidden' || err.code === 'not_found') refreshRooms().catch(() => {});
  } finally {
    subscribing.delete(roomId);
  }
}

/** Stops following a room and forgets its timeline (left, or gone). */
export function unsubscribe(roomId) {
  if (subscribed.delete(roomId)) {
    socket.request({ type: 'unsubscribe', room: roomId }).catch(() => {});
  }
  store.timelines.delete(roomId);
  store.typing.delete(roomId);
}

/** Re-reads one room's counts, coalescing bursts of requests. */
export function refreshRoom(roomId) {
  clearTimeout(roomRefresh.get(roomId));
  roomRefresh.set(
    roomId,
    setTimeout(async () => {
      roomRefresh.delete(roomId);
      try {
        const { room } = await api.room(roomId);
        mergeRoom(room);
        store.emit('rooms');
      } catch {
        // The poll will fix it.
      }
    }, 300),
  );
}

export function onFrame(f) {
  switch (f.type) {
    case 'event':
      return onEvent(f);
    case 'presence':
      return onPresence(f);
    case 'typing':
      return onTyping(f);
    case 'read':
      return onRead(f);
    case 'error':
      console.warn('server error frame', f);
  }
}

function onEvent(e) {
  const room = store.rooms.get(e.room);
  const tl = store.timelines.get(e.room);
  if (!room || !tl || !subscribed.has(e.room)) return;
  const me = store.me?.id;
  // Looked up before applying: the deletion blanks the message.
  const target = e.kind === 'message_deleted' ? tl.message(e.data?.id) : null;
  const before = tl.synced;
  const { gap } = tl.applyEvent(e, me);
  if (gap) fillGap(e.room, before);
  if (e.seq > (room.head || 0)) {
    room.head = e.seq;
    countNew(room, e, target, me);
    store.emit('rooms');
  }
  if (e.room !== store.route.roomId) tl.trimOlder(KEEP_OFFSCREEN);
  store.emit('timeline', e.room);
}

// Keeps unread and member counts current from events newer than the head
// the server's last count covered.
function countNew(room, e, target, me) {
  switch (e.kind) {
    case 'message_posted':
      if (e.actor?.id === me) return;
      if (e.seq > (room.last_read || 0)) room.unread = (room.unread || 0) + 1;
      clearTyping(room.id, e.actor?.id);
      if (e.seq > (replayHead.get(room.id) ?? 0)) notifyMessage(room, e);
      return;
    case 'message_deleted':
      if (target && !target.deleted && target.author?.id !== me && target.seq > (room.last_read || 0)) {
        room.unread = Math.max(0, (room.unread || 0) - 1);
      }
      return;
    case 'member_joined':
      room.members = (room.members || 0) + 1;
      return;
    case 'member_left':
      room.members = Math.max(0, (room.members || 0) - 1);
      // Left in another tab: follow suit here.
      if (e.data?.user?.id === me) refreshRooms().catch(() => {});
  }
}

function onPresence(f) {
  const u = store.users.get(f.user.id);
  store.users.set(f.user.id, { ...(u ?? { id: f.user.id, username: f.user.username }), online: f.online, last_seen: f.at });
  store.emit('users');
}

function onRead(f) {
  if (f.user?.id !== store.me?.id) return; // only our own marker, from another tab
  const room = store.rooms.get(f.room);
  if (!room || f.seq <= (room.last_read || 0)) return;
  room.last_read = f.seq;
  if (f.seq >= room.head) room.unread = 0;
  else refreshRoom(f.room);
  store.emit('rooms');
}
