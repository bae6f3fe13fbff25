// What the user does to rooms: open, create, join, leave, add someone,
// start a direct conversation. Each updates the store from the server's
// answer and keeps the socket subscriptions in line with membership.

import { api, explain } from './api.js';
import { store } from './store.js';
import { toast } from './dom.js';
import { navigate, roomPath } from './router.js';
import { mergeRoom, subscribe, touch, unsubscribe } from './sync.js';
import { loadNewest } from './history.js';

/** Shows the routed room: fetched if unknown, its history if not loaded. */
export async function openRoom(roomId) {
  store.roomError = null;
  let room = store.rooms.get(roomId);
  if (!room) {
    try {
      ({ room } = await api.room(roomId));
    } catch (err) {
      if (store.route.roomId !== roomId) return;
      store.roomError =
        err.code === 'not_found'
          ? 'This room does not exist.'
          : err.code === 'forbidden'
            ? 'This room is private. A member can add you.'
            : explain(err);
      store.emit('rooms');
      return;
    }
    mergeRoom(room);
    store.emit('rooms');
  }
  if (!room.member) return; // a public room: the header offers Join
  subscribe(roomId);
  if (!store.timeline(roomId).loaded) await loadNewest(roomId);
  store.emit('timeline', roomId);
}

export async function createRoom(name, kind) {
  try {
    const { room } = await api.createRoom(name, kind);
    mergeRoom(room);
    store.emit('rooms');
    subscribe(room.id);
    navigate(roomPath(room.id));
    return true;
  } catch (err) {
    toast(`Could not create the room: ${explain(err)}`);
    return false;
  }
}

export async function joinRoom(roomId) {
  try {
    const { room } = await api.join(roomId);
    mergeRoom(room);
    store.emit('rooms');
    await openRoom(roomId);
  } catch (err) {
    toast(`Could not join: ${explain(err)}`);
  }
}

export async function leaveRoom(roomId) {
  try {
    const { room } = await api.leave(roomId);
    unsubscribe(roomId);
    if (room.kind === 'public') {
      mergeRoom(room);
    } else {
      touch(roomId);
      store.rooms.delete(roomId); // no longer visible to us at all
    }
    store.emit('rooms');
    navigate('/');
  } catch (err) {
    toast(`Could not leave: ${explain(err)}`);
  }
}

export async function addMember(roomId, userId) {
  try {
    const { room } = await api.addMember(roomId, userId);
    mergeRoom(room);
    store.emit('rooms');
    toast(`Added ${store.users.get(userId)?.username ?? 'them'} to the room.`);
  } catch (err) {
    toast(`Could not add them: ${explain(err)}`);
  }
}

/** Opens (creating on first use) the direct room with a user. */
export async function openDirect(userId) {
  try {
    const { room } = await api.direct(userId);
    mergeRoom(room);
    store.emit('rooms');
    subscribe(room.id);
    navigate(roomPath(room.id));
  } catch (err) {
    toast(`Could not open the conversation: ${explain(err)}`);
  }
}
