// The message pane: the open room's timeline, newest at the bottom, with
// date separators, system lines, pending/failed sends, and edit/delete for
// our own messages. Scrolling up pages older history in; reaching the
// bottom marks messages read.
//
// Message bodies are set with textContent (via h()), never as HTML, and
// are not linkified: a body is always inert text.

import { store } from '../store.js';
import { $, h, reconcile, batched, formatTime, formatFull, dayKey, dayLabel, confirmAction } from '../dom.js';
import { loadOlder, loadNewer, jumpToLatest } from '../history.js';
import { retry, discard, editMessage, deleteMessage } from '../outbox.js';
import { markSeen } from '../attention.js';

const NEAR_BOTTOM_PX = 48;
const NEAR_TOP_PX = 150;
const HIGHLIGHT_MS = 4000;

const scroller = () => $('message-scroll');
const list = () => $('message-list');

let shownRoom = null;
let stickToBottom = false; // set by our own send: always show it
let editing = null; // {id, draft} of the message being edited

export function initMessages() {
  const draw = batched(drawMessages);
  store.on('timeline', (roomId) => roomId === store.route.roomId && draw());
  store.on('route', draw);
  store.on('rooms', draw);

  scroller().addEventListener('scroll', onScroll, { passive: true });
  $('load-older').addEventListener('click', () => shownRoom && loadOlder(shownRoom));
  $('jump-latest').addEventListener('click', () => {
    if (!shownRoom) return;
    stickToBottom = true;
    jumpToLatest(shownRoom);
    draw();
  });
  list().addEventListener('click', onClick);
  list().addEventListener('keydown', onEditKey);
  list().addEventListener('input', (ev) => {
    if (editing && ev.target.classList.contains('edit-input')) editing.draft = ev.target.value;
  });
  document.addEventListener('visibilitychange', checkSeen);
  window.addEventListener('focus', checkSeen);
}

/** The next draw scrolls to the bottom (after we send). */
export function scrollToLatestOnNextDraw() {
  stickToBottom = true;
}

function drawMessages() {
  const roomId = store.route.page === 'chat' ? store.route.roomId : null;
  const room = roomId ? store.rooms.get(roomId) : null;
  if (!room?.member) {
    shownRoom = null;
    reconcile(list(), [], () => null);
    return;
  }
  const tl = store.timeline(roomId);
  const switched = shownRoom !== roomId;
  if (switched) editing = null;
  shownRoom = roomId;

  const atBottom = switched || stickToBottom || isAtBottom();
  const anchor = atBottom ? null : captureAnchor();
  stickToBottom = false;

  const items = tl.visible();
  reconcile(list(), entries(items), render);
  $('load-older').hidden = !tl.loaded || !tl.hasMoreBefore;
  $('message-empty').hidden = !tl.loaded || items.length > 0;

  const target = store.highlight?.roomId === roomId ? list().querySelector(`[data-seq="${store.highlight.seq}"]`) : null;
  if (target) {
    store.highlight = null;
    flash(target);
  } else if (atBottom) {
    scroller().scrollTop = scroller().scrollHeight;
  } else if (anchor?.el.isConnected) {
    // Keep what the reader was looking at in place as pages load above it.
    scroller().scrollTop = anchor.el.offsetTop - anchor.offset;
  }
  if (editing?.focus) {
    const input = list().querySelector('.edit-input');
    input?.focus();
    input?.setSelectionRange(input.value.length, input.value.length);
    editing.focus = false;
  }
  updateJumpButton(tl);
  // A short first page may not fill the pane, and then no scroll-up can
  // ask for more: fetch older pages until it does.
  if (tl.loaded && tl.hasMoreBefore && scroller().scrollHeight <= scroller().clientHeight) loadOlder(roomId);
  checkSeen();
}

// Date separators go between items of different local days.
function entries(items) {
  const out = [];
  let day = null;
  for (const item of items) {
    const at = item.kind === 'message' ? item.sentAt : item.at;
    const d = dayKey(at);
    if (d !== day) {
      day = d;
      out.push({ key: `day:${d}`, value: at, stamp: dayLabel(at) });
    }
    const key = item.seq !== null ? `seq:${item.seq}` : `pending:${item.clientId}`;
    out.push({ key, value: item, stamp: editing && item.id === editing.id ? 'editing' : '' });
  }
  return out;
}

function render(value) {
  if (typeof value === 'string') {
    return h('div', { class: 'day-separator', role: 'separator' }, h('span', {}, dayLabel(value)));
  }
  return value.kind === 'system' ? systemLine(value) : messageItem(value);
}

function systemLine(s) {
  const actor = s.actor?.username ?? 'Someone';
  const user = s.data?.user?.username ?? 'someone';
  let text;
  switch (s.event) {
    case 'room_created':
      text = `${actor} created the room`;
      break;
    case 'member_joined':
      text = s.actor && s.actor.id !== s.data?.user?.id ? `${actor} added ${user}` : `${user} joined`;
      break;
    case 'member_left':
      text = `${user} left`;
      break;
    default:
      text = s.event;
  }
  // data-event-seq, not data-seq: [data-seq] means messages only.
  return h('div', { class: 'system-line', 'data-event-seq': s.seq }, text, ' · ', timeEl(s.at));
}

function messageItem(m) {
  const own = m.author?.id === store.me?.id;
  const isEditing = editing && m.id === editing.id && !m.deleted;
  const classes = ['message', own && 'own', m.status !== 'confirmed' && m.status, m.deleted && 'deleted'];
  let body;
  if (m.deleted) body = h('p', { class: 'message-body' }, 'This message was deleted.');
  else if (isEditing) body = editor(editing.draft);
  else body = h('p', { class: 'message-body' }, m.body);

  return h(
    'div',
    {
      class: classes.filter(Boolean).join(' '),
      'data-seq': m.seq,
      'data-client-id': m.clientId,
      'data-message-id': m.id,
    },
    h(
      'div',
      { class: 'message-meta' },
      h('span', { class: 'message-author' }, m.author?.username ?? 'unknown'),
      timeEl(m.sentAt),
      m.editedAt && !m.deleted ? h('span', { class: 'edited', title: `Edited ${formatFull(m.editedAt)}` }, '(edited)') : null,
    ),
    body,
    status(m),
    actions(m, own, isEditing),
  );
}

const timeEl = (iso) => h('time', { datetime: iso, title: formatFull(iso) }, formatTime(iso));

function status(m) {
  if (m.status === 'pending') return h('p', { class: 'message-status' }, 'Sending…');
  if (m.status !== 'failed') return null;
  return h(
    'p',
    { class: 'message-status', role: 'alert' },
    m.error || 'Not sent.',
    ' ',
    h('button', { type: 'button', class: 'retry small' }, 'Retry'),
    h('button', { type: 'button', class: 'discard small' }, 'Discard'),
  );
}

function actions(m, own, isEditing) {
  if (m.deleted || m.seq === null || isEditing) return null;
  const canDelete = own || store.isAdmin();
  if (!own && !canDelete) return null;
  return h(
    'div',
    { class: 'message-actions' },
    own ? h('button', { type: 'button', class: 'edit-message small', 'aria-label': 'Edit message' }, 'Edit') : null,
    h('button', { type: 'button', class: 'delete-message small', 'aria-label': 'Delete message' }, 'Delete'),
  );
}

function editor(draft) {
  return h(
    'div',
    { class: 'edit-box' },
    h('textarea', { class: 'edit-input', rows: 3, 'aria-label': 'Edit message' }, draft),
    h('button', { type: 'button', class: 'edit-save small primary' }, 'Save'),
    h('button', { type: 'button', class: 'edit-cancel small' }, 'Cancel'),
    h('span', { class: 'hint' }, 'Enter saves, Escape cancels'),
  );
}

async function onClick(ev) {
  const button = ev.target.closest('button');
  const el = button?.closest('.message');
  if (!el || !shownRoom) return;
  const roomId = shownRoom;
  const { clientId, messageId } = el.dataset;
  const cls = button.classList;
  if (cls.contains('retry')) retry(roomId, clientId);
  else if (cls.contains('discard')) discard(roomId, clientId);
  else if (cls.contains('edit-message')) startEdit(roomId, messageId);
  else if (cls.contains('edit-save')) saveEdit(roomId);
  else if (cls.contains('edit-cancel')) stopEdit(messageId);
  else if (cls.contains('delete-message')) {
    if (await confirmAction('Delete this message? Everyone will see that it was deleted.', 'Delete')) {
      deleteMessage(roomId, messageId);
    }
  }
}

function onEditKey(ev) {
  if (!editing || !ev.target.classList.contains('edit-input')) return;
  if (ev.key === 'Escape') {
    ev.stopPropagation(); // the drawer listens for Escape too
    stopEdit(editing.id);
  } else if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    saveEdit(shownRoom);
  }
}

function startEdit(roomId, id) {
  const m = store.timeline(roomId).message(id);
  if (!m) return;
  editing = { id, draft: m.body, focus: true };
  drawMessages();
}

async function saveEdit(roomId) {
  if (!editing) return;
  const { id, draft } = editing;
  const m = store.timeline(roomId).message(id);
  if (!m || draft.trim() === m.body || (await editMessage(roomId, id, draft))) stopEdit(id);
}

function stopEdit(id) {
  editing = null;
  drawMessages();
  list().querySelector(`[data-message-id="${CSS.escape(id)}"] .edit-message`)?.focus();
}

function isAtBottom() {
  const s = scroller();
  return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
}

// The first message or system line at least partly visible, and where it
// sits on screen. Never a date separator: the one at the top keeps its key
// while a page of the same day loads above the reader, so anchoring on it
// would throw the reader back to the top of the new page.
function captureAnchor() {
  const top = scroller().scrollTop;
  for (const el of list().children) {
    if (el.classList.contains('day-separator')) continue;
    if (el.offsetTop + el.offsetHeight > top) return { el, offset: el.offsetTop - top };
  }
  return null;
}

function onScroll() {
  if (!shownRoom) return;
  const tl = store.timeline(shownRoom);
  if (scroller().scrollTop < NEAR_TOP_PX && tl.loaded && tl.hasMoreBefore) loadOlder(shownRoom);
  if (isAtBottom() && tl.windowEnd !== null) loadNewer(shownRoom);
  updateJumpButton(tl);
  checkSeen();
}

function checkSeen() {
  if (shownRoom && isAtBottom()) markSeen(shownRoom);
}

function updateJumpButton(tl) {
  const far = scroller().scrollHeight - scroller().scrollTop - scroller().clientHeight > scroller().clientHeight;
  $('jump-latest').hidden = tl.windowEnd === null && !far;
}

function flash(el) {
  el.scrollIntoView({ block: 'center' });
  el.classList.add('highlight');
  setTimeout(() => el.classList.remove('highlight'), HIGHLIGHT_MS);
}
