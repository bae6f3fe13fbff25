// The message box and the typing indicator under the timeline.
// Enter sends, Shift+Enter breaks the line; an unsent draft is kept per
// room while moving between rooms.

import { store } from '../store.js';
import { $ } from '../dom.js';
import { sendMessage } from '../outbox.js';
import { sendTyping } from '../typing.js';
import { scrollToLatestOnNextDraw } from './messages.js';

const MAX_HEIGHT_PX = 200;
const drafts = new Map(); // room id → unsent text
let draftRoom = null;

export function initComposer() {
  const box = $('composer');
  $('composer-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });
  let shiftEnter = false;
  box.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter') return;
    shiftEnter = ev.shiftKey;
    // isComposing: Enter that confirms an IME candidate is not a send.
    if (!ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      submit();
    }
  });
  // Some keyboards (Android's, automation) deliver Enter only as a line
  // break to insert, with no cancelable keydown: treat that as Enter too.
  box.addEventListener('beforeinput', (ev) => {
    const lineBreak = ev.inputType === 'insertLineBreak' || ev.inputType === 'insertParagraph';
    if (lineBreak && !shiftEnter && !ev.isComposing) {
      ev.preventDefault();
      submit();
    }
    shiftEnter = false;
  });
  box.addEventListener('input', () => {
    autosize();
    const roomId = store.route.roomId;
    if (roomId && box.value.trim()) sendTyping(roomId);
  });
  store.on('route', switchRoom);
  store.on('typing', drawTyping);
  store.on('route', drawTyping);
}

/** Forgets drafts, on log-out. */
export function resetComposer() {
  drafts.clear();
  draftRoom = null;
  $('composer').value = '';
  autosize();
}

function submit() {
  const box = $('composer');
  const roomId = store.route.roomId;
  if (!roomId || !sendMessage(roomId, box.value)) return;
  box.value = '';
  drafts.delete(roomId);
  autosize();
  scrollToLatestOnNextDraw();
  box.focus();
}

function switchRoom() {
  const box = $('composer');
  const roomId = store.route.page === 'chat' ? store.route.roomId : null;
  if (roomId === draftRoom) return;
  if (draftRoom) {
    if (box.value) drafts.set(draftRoom, box.value);
    else drafts.delete(draftRoom);
  }
  draftRoom = roomId;
  box.value = (roomId && drafts.get(roomId)) || '';
  autosize();
}

// Grows with its content up to a limit, then scrolls. Setting style from
// script is allowed by the CSP (only inline style attributes are not).
// While the form is hidden there is nothing to measure (scrollHeight is 0):
// the box keeps its natural one-row height until it is next typed in.
export function autosize() {
  const box = $('composer');
  if (!box.offsetParent) {
    box.style.height = '';
    box.style.overflowY = '';
    return;
  }
  box.style.height = 'auto';
  // border-box sizing: the height includes the borders scrollHeight leaves out.
  const borders = box.offsetHeight - box.clientHeight;
  const wanted = box.scrollHeight + borders;
  box.style.height = `${Math.min(wanted, MAX_HEIGHT_PX)}px`;
  box.style.overflowY = wanted > MAX_HEIGHT_PX ? 'auto' : 'hidden';
}

function drawTyping() {
  const el = $('typing-indicator');
  const roomId = store.route.roomId;
  const now = Date.now();
  const names = [...(store.typing.get(roomId)?.values() ?? [])].filter((t) => t.expires > now).map((t) => t.username);
  if (names.length === 0) el.textContent = '';
  else if (names.length === 1) el.textContent = `${names[0]} is typing…`;
  else if (names.length === 2) el.textContent = `${names[0]} and ${names[1]} are typing…`;
  else el.textContent = 'Several people are typing…';
}
