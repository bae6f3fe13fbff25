// Everything the UI shows, in one place, and a way to hear that it changed.
// Controllers (sync.js, history.js, actions.js) change it and call emit();
// views listen and redraw. Topics: 'me', 'rooms', 'users', 'timeline'
// (detail: room id), 'typing', 'connection', 'route'.

import { Timeline } from './timeline.js';

const bus = new EventTarget();

export const store = {
  me: null, // User
  rooms: new Map(), // id → Room, as PROTOCOL.md has it, kept current locally
  users: new Map(), // id → {id, username, online, last_seen}
  timelines: new Map(), // room id → Timeline
  typing: new Map(), // room id → Map(user id → {username, expires})
  route: { page: 'chat', roomId: null },
  roomError: null, // why the routed room cannot be shown
  connection: 'idle', // 'idle' | 'connecting' | 'open' | 'reconnecting'

  on(topic, fn) {
    bus.addEventListener(topic, (ev) => fn(ev.detail));
  },

  emit(topic, detail) {
    bus.dispatchEvent(new CustomEvent(topic, { detail }));
  },

  timeline(roomId) {
    let tl = this.timelines.get(roomId);
    if (!tl) {
      tl = new Timeline(roomId);
      this.timelines.set(roomId, tl);
    }
    return tl;
  },

  currentRoom() {
    return this.route.page === 'chat' && this.route.roomId ? this.rooms.get(this.route.roomId) ?? null : null;
  },

  memberRooms() {
    return [...this.rooms.values()].filter((r) => r.member);
  },

  isAdmin() {
    return Boolean(this.me?.roles?.includes('admin'));
  },

  totalUnread() {
    return this.memberRooms().reduce((n, r) => n + (r.unread || 0), 0);
  },

  /** Forgets the signed-in user's data, on log-out or a lost session. */
  reset() {
    this.me = null;
    this.rooms.clear();
    this.users.clear();
    this.timelines.clear();
    this.typing.clear();
    this.roomError = null;
    this.connection = 'idle';
  },
};

/**
 * A room's name for people. The server names a direct room after both
 * users ("ana, bo"); from one side the other's name is what matters.
 */
export function roomLabel(room) {
  if (!room) return '';
  if (room.kind !== 'direct') return room.name;
  const me = store.me?.username;
  const others = room.name.split(', ').filter((n) => n !== me);
  return others.length === 1 ? others[0] : room.name;
}

/** Sorts rooms for the sidebar: joined first, then direct, then by name. */
export function compareRooms(a, b) {
  const rank = (r) => (r.member ? (r.kind === 'direct' ? 1 : 0) : 2);
  return rank(a) - rank(b) || roomLabel(a).localeCompare(roomLabel(b));
}
