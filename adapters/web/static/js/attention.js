// Telling the user what is new, and the server what the user has seen:
// the unread count in the tab title, notifications while the tab is
// hidden, and read markers.

import { store, roomLabel } from './store.js';
import { navigate, roomPath } from './router.js';

const TITLE = 'Chat';

let socket = null;

export function initAttention(s) {
  socket = s;
  store.on('rooms', updateTitle);
  store.on('me', updateTitle);
}

export function updateTitle() {
  const n = store.me ? store.totalUnread() : 0;
  document.title = n > 0 ? `(${n}) ${TITLE}` : TITLE;
}

/**
 * The message pane calls this when its bottom is on screen. Only then, and
 * only while the tab is visible and showing the present (not an older
 * stretch), has the user really seen the newest messages.
 */
export function markSeen(roomId) {
  if (document.visibilityState !== 'visible') return;
  const room = store.rooms.get(roomId);
  const tl = store.timelines.get(roomId);
  if (!room?.member || !tl?.loaded || tl.windowEnd !== null) return;
  const seq = tl.latestSeq();
  if (seq > (room.last_read || 0)) {
    // Unsent (offline) means not recorded: keep the count, try on the next draw.
    if (!socket.send({ type: 'read', room: roomId, seq })) return;
    room.last_read = seq;
  }
  if (room.unread && room.last_read >= (room.head || 0)) {
    room.unread = 0;
    store.emit('rooms');
  }
}

/** 'unsupported' | 'default' | 'granted' | 'denied' */
export function notificationState() {
  return 'Notification' in window ? Notification.permission : 'unsupported';
}

/** Must run from a user gesture: browsers ignore unprompted requests. */
export async function askNotificationPermission() {
  if (notificationState() !== 'default') return;
  await Notification.requestPermission();
  store.emit('me');
}

/** A new message from someone else arrived live; tell a user who is away. */
export function notifyMessage(room, e) {
  if (!document.hidden || notificationState() !== 'granted') return;
  try {
    const n = new Notification(`${e.actor?.username ?? 'Someone'} in ${roomLabel(room)}`, {
      body: String(e.data?.body ?? '').slice(0, 200),
      tag: room.id, // one notification per room, replaced, not stacked
    });
    n.onclick = () => {
      window.focus();
      navigate(roomPath(room.id));
      n.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker.
  }
}
