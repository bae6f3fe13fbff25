// "Ana is typing…", both ways. Ours: a `typing` frame at most once a second
// while the composer has text (the server drops faster repeats anyway).
// Theirs: kept per room until the `until` the server gave, and dropped at
// once when that person's message arrives.

import { store } from './store.js';

const SEND_EVERY_MS = 1000;
const FALLBACK_MS = 5000; // PROTOCOL.md: `until` is ≈5 s away

let socket = null;
const lastSent = new Map(); // room id → when we last said we were typing
let expiryTimer = null;

export function initTyping(s) {
  socket = s;
}

/** The composer changed and has text. */
export function sendTyping(roomId) {
  const now = Date.now();
  if (now - (lastSent.get(roomId) ?? 0) < SEND_EVERY_MS) return;
  if (socket.send({ type: 'typing', room: roomId })) lastSent.set(roomId, now);
}

/** Our message went out: typing again starts a fresh indication. */
export function sentMessage(roomId) {
  lastSent.delete(roomId);
}

/** A `typing` frame from the server. */
export function onTyping(f) {
  if (f.user?.id === store.me?.id) return;
  const now = Date.now();
  let expires = Date.parse(f.until);
  // `until` is on the server's clock; if ours disagrees wildly, assume ≈5 s.
  if (!(expires > now) || expires - now > 4 * FALLBACK_MS) expires = now + FALLBACK_MS;
  const users = store.typing.get(f.room) ?? new Map();
  users.set(f.user.id, { username: f.user.username, expires });
  store.typing.set(f.room, users);
  scheduleExpiry();
  store.emit('typing');
}

/** Someone's message arrived: they are no longer typing it. */
export function clearTyping(roomId, userId) {
  if (store.typing.get(roomId)?.delete(userId)) store.emit('typing');
}

// One timer, set for the earliest expiry, drops stale typists.
function scheduleExpiry() {
  clearTimeout(expiryTimer);
  let next = Infinity;
  for (const users of store.typing.values()) for (const t of users.values()) next = Math.min(next, t.expires);
  if (next === Infinity) return;
  expiryTimer = setTimeout(() => {
    const now = Date.now();
    for (const users of store.typing.values()) {
      for (const [id, t] of users) if (t.expires <= now) users.delete(id);
    }
    store.emit('typing');
    scheduleExpiry();
  }, Math.max(50, next - Date.now()));
}
