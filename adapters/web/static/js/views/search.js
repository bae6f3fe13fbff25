// Message search in the sidebar. Results are buttons; choosing one opens
// the room at that message (history.jumpTo loads the stretch around it).

import { api, explain } from '../api.js';
import { store, roomLabel } from '../store.js';
import { $, h, formatFull } from '../dom.js';
import { navigate, roomPath } from '../router.js';
import { jumpTo } from '../history.js';

const DEBOUNCE_MS = 300;
const LIMIT = 20;
const SNIPPET = 140;

let timer = null;
let latest = 0; // answers to older queries that arrive late are dropped

export function initSearch() {
  const input = $('search-input');
  $('search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearTimeout(timer);
    run(input.value);
  });
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => run(input.value), DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && input.value) {
      ev.stopPropagation(); // first Escape clears the search, not the drawer
      clearSearch();
    }
  });
  $('search-results').addEventListener('click', (ev) => {
    const hit = ev.target.closest('[data-seq]');
    if (!hit) return;
    const roomId = hit.dataset.roomId;
    navigate(roomPath(roomId));
    jumpTo(roomId, Number(hit.dataset.seq));
  });
}

export function clearSearch() {
  clearTimeout(timer);
  latest++;
  $('search-input').value = '';
  show([]);
  $('search-results').hidden = true;
}

async function run(text) {
  const q = text.trim();
  const ticket = ++latest;
  if (!q) {
    show([]);
    $('search-results').hidden = true;
    return;
  }
  try {
    const { results } = await api.search(q, { limit: LIMIT });
    if (ticket !== latest) return;
    show(results.length ? results.map(resultItem) : [h('li', { class: 'search-empty' }, 'No messages match.')]);
  } catch (err) {
    if (ticket !== latest) return;
    show([h('li', { class: 'search-empty', role: 'alert' }, explain(err))]);
  }
}

function show(items) {
  const ul = $('search-results');
  ul.replaceChildren(...items);
  ul.hidden = items.length === 0;
}

function resultItem(m) {
  const room = store.rooms.get(m.room);
  const snippet = m.body.length > SNIPPET ? `${m.body.slice(0, SNIPPET)}…` : m.body;
  return h(
    'li',
    {},
    h(
      'button',
      { type: 'button', class: 'search-result', 'data-room-id': m.room, 'data-seq': m.seq, 'data-message-id': m.id },
      h(
        'span',
        { class: 'search-meta' },
        h('span', { class: 'message-author' }, m.author?.username ?? ''),
        room ? ` in ${roomLabel(room)}` : '',
        ' · ',
        h('time', { datetime: m.sent_at }, formatFull(m.sent_at)),
      ),
      h('span', { class: 'search-snippet' }, snippet),
    ),
  );
}
