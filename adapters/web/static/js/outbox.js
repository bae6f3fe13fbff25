// Our own writes to a conversation: send (with local echo), retry, edit,
// delete.
//
// A send shows at once as pending, keyed by a fresh client_id. The ack (or
// the message's own event, whichever comes first) confirms it. When the
// socket is down the send goes over HTTP instead; when both fail it is
// marked failed and Retry sends it again with the SAME client_id, so if the
// first attempt did reach the server, the server returns that message
// rather than storing a second.

import { api, explain } from './api.js';
import { store } from './store.js';
import { newClientId, toast } from './dom.js';
import { jumpToLatest } from './history.js';
import { sentMessage } from './typing.js';

const MAX_BODY = 4000; // characters, after trimming (PROTOCOL.md)

let socket = null;

export function initOutbox(s) {
  socket = s;
}

/**
 * Sends text to a room. Returns false (and says why) when there is nothing
 * to send or it is too long, so the composer keeps the text.
 */
export function sendMessage(roomId, text) {
  const body = text.trim();
  if (!body || !store.me) return false;
  if ([...body].length > MAX_BODY) {
    toast(`Messages are limited to ${MAX_BODY} characters.`);
    return false;
  }
  // Sending from an older stretch (after a search) returns to the present.
  jumpToLatest(roomId);
  const clientId = newClientId();
  const tl = store.timeline(roomId);
  tl.addPending(clientId, body, { id: store.me.id, username: store.me.username });
  sentMessage(roomId);
  store.emit('timeline', roomId);
  transmit(roomId, clientId, body);
  return true;
}

async function transmit(roomId, clientId, body) {
  try {
    let ack;
    if (socket.isOpen) {
      ack = await socket.request({ type: 'send', room: roomId, client_id: clientId, body });
    } else {
      const { message } = await api.postMessage(roomId, clientId, body);
      ack = { id: message.id, seq: message.seq, sent_at: message.sent_at };
    }
    store.timelines.get(roomId)?.ack(clientId, ack);
  } catch (err) {
    store.timelines.get(roomId)?.setPendingStatus(clientId, 'failed', explain(err));
  }
  store.emit('timeline', roomId);
}

export function retry(roomId, clientId) {
  const tl = store.timelines.get(roomId);
  const p = tl?.pending.get(clientId);
  if (!p || p.status !== 'failed') return;
  tl.setPendingStatus(clientId, 'pending');
  store.emit('timeline', roomId);
  transmit(roomId, clientId, p.body);
}

export function discard(roomId, clientId) {
  store.timelines.get(roomId)?.dropPending(clientId);
  store.emit('timeline', roomId);
}

/** Edits one of our messages; true once the server accepted it. */
export async function editMessage(roomId, id, text) {
  const body = text.trim();
  if (!body) {
    toast('A message cannot be empty. Delete it instead.');
    return false;
  }
  if ([...body].length > MAX_BODY) {
    toast(`Messages are limited to ${MAX_BODY} characters.`);
    return false;
  }
  try {
    // The change itself arrives as a message_edited event, for every tab.
    await socket.request({ type: 'edit', room: roomId, id, body });
    return true;
  } catch (err) {
    toast(`Could not edit the message: ${offline(err)}`);
    return false;
  }
}

export async function deleteMessage(roomId, id) {
  try {
    await socket.request({ type: 'delete', room: roomId, id });
    return true;
  } catch (err) {
    toast(`Could not delete the message: ${offline(err)}`);
    return false;
  }
}

// Edits and deletes exist only on the socket: say so plainly when it is down.
function offline(err) {
  return err.code === 'disconnected' ? 'you are offline; try again once reconnected.' : explain(err);
}
