// History over HTTP: the newest page when a room opens, older pages on
// scroll-up, and the stretch around a search hit.
//
// A page is merged only if the timeline was not cleared while it was in
// flight (its epoch is unchanged): a late newest page must not land in the
// middle of a search jump and leave a hole.

import { api, explain } from './api.js';
import { store } from './store.js';
import { toast } from './dom.js';

const PAGE = 50;
const CONTEXT_BEFORE = 25; // messages shown above a search hit

const inFlight = new Set(); // "room:kind", so scrolling does not stack requests

async function once(roomId, kind, fn) {
  const key = `${roomId}:${kind}`;
  if (inFlight.has(key)) return;
  inFlight.add(key);
  try {
    await fn(store.timeline(roomId));
  } catch (err) {
    if (err.code !== 'unauthorized') toast(`Could not load messages: ${explain(err)}`);
  } finally {
    inFlight.delete(key);
  }
  store.emit('timeline', roomId);
}

const meId = () => store.me?.id ?? null;
const lastSeq = (messages) => (messages.length ? messages[messages.length - 1].seq : null);

/** The newest page: what a room shows when opened. */
export function loadNewest(roomId) {
  return once(roomId, 'newest', async (tl) => {
    // Leaving an older stretch: start over from the present.
    if (tl.windowEnd !== null) tl.clear();
    const epoch = tl.epoch;
    const page = await api.messages(roomId, { limit: PAGE });
    if (tl.epoch !== epoch) return;
    tl.mergeMessages(page.messages, meId());
    tl.hasMoreBefore = page.has_more;
    tl.loaded = true;
  });
}

export function loadOlder(roomId) {
  return once(roomId, 'older', async (tl) => {
    const before = tl.lowestSeq();
    if (!tl.hasMoreBefore || before === null) return;
    if (before <= 1) {
      tl.hasMoreBefore = false;
      return;
    }
    const epoch = tl.epoch;
    const page = await api.messages(roomId, { before, limit: PAGE });
    if (tl.epoch !== epoch) return;
    tl.mergeMessages(page.messages, meId());
    tl.hasMoreBefore = page.has_more;
  });
}

/** Pages forward from an older stretch until it meets the present. */
export function loadNewer(roomId) {
  return once(roomId, 'newer', async (tl) => {
    const after = tl.windowEnd;
    if (after === null) return;
    const epoch = tl.epoch;
    const page = await api.messages(roomId, { after, limit: PAGE });
    if (tl.epoch !== epoch) return;
    tl.mergeMessages(page.messages, meId());
    // Live events kept arriving meanwhile (stored, not shown); once the
    // pages reach the present, the two meet and everything shows.
    tl.setWindowEnd(page.has_more ? Math.max(after, lastSeq(page.messages) ?? after) : null);
  });
}

/** Shows the message at seq, loading the stretch around it if needed. */
export function jumpTo(roomId, seq) {
  return once(roomId, 'jump', async (tl) => {
    const shown = tl.items.has(seq) && (tl.windowEnd === null || seq <= tl.windowEnd);
    if (!shown) {
      const [older, newer] = await Promise.all([
        api.messages(roomId, { before: seq, limit: CONTEXT_BEFORE }),
        api.messages(roomId, { after: seq - 1, limit: PAGE }),
      ]);
      tl.clear();
      tl.mergeMessages(older.messages, meId());
      tl.mergeMessages(newer.messages, meId());
      tl.hasMoreBefore = older.has_more;
      tl.setWindowEnd(newer.has_more ? lastSeq(newer.messages) : null);
      tl.loaded = true;
    }
    store.highlight = { roomId, seq };
  });
}

/** Back from an older stretch to the newest messages. */
export function jumpToLatest(roomId) {
  const tl = store.timeline(roomId);
  if (tl.windowEnd === null) return Promise.resolve();
  tl.clear();
  return loadNewest(roomId);
}

/**
 * The socket skipped seqs (it should not): fetch the messages after the
 * last one we had, so none goes missing.
 */
export function fillGap(roomId, afterSeq) {
  return once(roomId, `gap${afterSeq}`, async (tl) => {
    const epoch = tl.epoch;
    const page = await api.messages(roomId, { after: afterSeq, limit: 200 });
    if (tl.epoch === epoch && tl.windowEnd === null) tl.mergeMessages(page.messages, meId());
  });
}
