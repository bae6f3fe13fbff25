// One room's conversation as this client knows it. Pure data: no DOM, no
// network, so the merging rules below can be tested on their own.
//
// Items arrive from three places that overlap and race: socket events (live
// and replayed after a reconnect), HTTP history pages, and acks of our own
// sends. Every merge is therefore idempotent and order-insensitive: items
// are keyed by seq (dedupe by room+seq), a deleted message stays deleted,
// and of two versions of a message the later edit wins. Whatever order the
// same facts arrive in, the timeline ends up the same.
//
// Items are replaced, never mutated, so a view can tell what changed by
// comparing objects.

export class Timeline {
  constructor(roomId) {
    this.roomId = roomId;
    this.items = new Map(); // seq → message or system item
    this.seqOfId = new Map(); // message id → seq, for edit and delete events
    this.pending = new Map(); // client_id → our message, not yet given a seq
    // Every event with seq ≤ synced has been received over the socket; a
    // resubscribe asks for after=synced. Null until the first `subscribed`.
    this.synced = null;
    // After a truncated replay, events up to here are skipped: history is
    // re-paged over HTTP instead, and applying them would leave a hole.
    this.ignoreUpTo = 0;
    // Set while showing an older stretch (a search jump): only items with
    // seq ≤ windowEnd are shown until paging forward reaches the present.
    this.windowEnd = null;
    this.hasMoreBefore = true;
    this.loaded = false; // the newest page has been fetched once
    this.epoch = 0; // bumped by clear(): pages asked for before are stale
    this.version = 0; // bumped on every change
    this._sorted = null;
  }

  /** Called on `subscribed` (not truncated): events after `after` follow. */
  startAt(after) {
    this.synced = after;
  }

  /** Called on `subscribed` with truncated:true: skip the replay, re-page. */
  resetTo(head) {
    this.clear();
    this.synced = head;
    this.ignoreUpTo = head;
  }

  /**
   * Applies a room `event` frame. Returns gap:true when the stream skipped a
   * seq (it never should), so the caller can re-page over HTTP.
   */
  applyEvent(e, meId) {
    if (e.seq <= this.ignoreUpTo) return { gap: false };
    let gap = false;
    if (this.synced !== null && e.seq > this.synced) {
      gap = e.seq > this.synced + 1;
      this.synced = e.seq;
    }
    const d = e.data || {};
    switch (e.kind) {
      case 'message_posted':
        this._put(
          {
            kind: 'message', seq: e.seq, id: d.id, author: e.actor, body: d.body,
            clientId: d.client_id, sentAt: e.at, editedAt: null, deleted: false, status: 'confirmed',
          },
          meId,
        );
        break;
      case 'message_edited':
        this._edit(d.id, d.body, e.at);
        break;
      case 'message_deleted':
        this._delete(d.id);
        break;
      default:
        if (!this.items.has(e.seq)) {
          this._set({ kind: 'system', seq: e.seq, event: e.kind, actor: e.actor, data: d, at: e.at });
        }
    }
    return { gap };
  }

  /** Merges Messages from an HTTP page (any order, any overlap). */
  mergeMessages(messages, meId) {
    for (const m of messages) {
      this._put(
        {
          kind: 'message', seq: m.seq, id: m.id, author: m.author, body: m.body, clientId: m.client_id,
          sentAt: m.sent_at, editedAt: m.edited_at, deleted: m.deleted, status: 'confirmed',
        },
        meId,
      );
    }
  }

  addPending(clientId, body, author) {
    this.pending.set(clientId, {
      kind: 'message', seq: null, id: null, author, body, clientId,
      sentAt: new Date().toISOString(), editedAt: null, deleted: false, status: 'pending',
    });
    this._changed();
  }

  /** Marks a local echo pending again (a retry) or failed; error says why. */
  setPendingStatus(clientId, status, error = null) {
    const p = this.pending.get(clientId);
    if (!p) return;
    this.pending.set(clientId, { ...p, status, error });
    this._changed();
  }

  /** The server committed our message: it takes its seq at once. */
  ack(clientId, { id, seq, sent_at: sentAt }) {
    const p = this.pending.get(clientId);
    if (!p) return; // the event got here first and merged the echo already
    this.pending.delete(clientId);
    this._put({ ...p, id, seq, sentAt: sentAt || p.sentAt, status: 'confirmed', error: null }, null);
    this._changed();
  }

  /** Forgets a failed send the user gave up on. */
  dropPending(clientId) {
    if (this.pending.delete(clientId)) this._changed();
  }

  setWindowEnd(seq) {
    this.windowEnd = seq;
    this._changed();
  }

  message(id) {
    const seq = this.seqOfId.get(id);
    return seq === undefined ? null : this.items.get(seq);
  }

  /** What a view shows: items in seq order, then our unconfirmed sends. */
  visible() {
    if (!this._sorted) {
      this._sorted = [...this.items.values()].sort((a, b) => a.seq - b.seq);
    }
    const end = this.windowEnd;
    const shown = end === null ? this._sorted : this._sorted.filter((i) => i.seq <= end);
    return end === null ? shown.concat([...this.pending.values()]) : shown;
  }

  lowestSeq() {
    return this.visible().find((i) => i.seq !== null)?.seq ?? null;
  }

  /** The newest seq this client has seen: what a read marker may claim. */
  latestSeq() {
    let max = this.synced ?? 0;
    for (const seq of this.items.keys()) if (seq > max) max = seq;
    return max;
  }

  /** Forgets loaded items (not our pending sends, not the stream position). */
  clear() {
    this.items.clear();
    this.seqOfId.clear();
    this.windowEnd = null;
    this.hasMoreBefore = true;
    this.loaded = false;
    this.epoch++;
    this._changed();
  }

  /** Drops the oldest items beyond keep; they can be paged in again. */
  trimOlder(keep) {
    if (this.items.size <= keep || this.windowEnd !== null) return;
    const seqs = [...this.items.keys()].sort((a, b) => a - b);
    for (const seq of seqs.slice(0, seqs.length - keep)) {
      const item = this.items.get(seq);
      if (item.kind === 'message') this.seqOfId.delete(item.id);
      this.items.delete(seq);
    }
    this.hasMoreBefore = true;
    this._changed();
  }

  _put(msg, meId) {
    // The event or page that carries our own client_id is our local echo
    // coming back: it replaces the echo instead of showing a second copy.
    const echo = this.pending.get(msg.clientId);
    if (echo && (meId === null || msg.author?.id === meId)) this.pending.delete(msg.clientId);
    const old = this.items.get(msg.seq);
    const merged = old && old.kind === 'message' ? mergeMessage(old, msg) : msg;
    if (merged !== old) this._set(merged);
    else if (echo) this._changed();
  }

  _edit(id, body, at) {
    const item = this.message(id);
    if (!item || item.deleted) return; // not loaded: a later page shows the edit
    if (item.editedAt && Date.parse(item.editedAt) >= Date.parse(at)) return;
    this._set({ ...item, body, editedAt: at });
  }

  _delete(id) {
    const item = this.message(id);
    if (item && !item.deleted) this._set({ ...item, body: '', deleted: true });
  }

  _set(item) {
    this.items.set(item.seq, item);
    if (item.kind === 'message') this.seqOfId.set(item.id, item.seq);
    this._changed();
  }

  _changed() {
    this._sorted = null;
    this.version++;
  }
}

/** Two views of one message: deletion is final, then the later edit wins. */
export function mergeMessage(a, b) {
  if (a.deleted) return a;
  if (b.deleted) return { ...a, body: '', deleted: true };
  const aEdit = a.editedAt ? Date.parse(a.editedAt) : 0;
  const bEdit = b.editedAt ? Date.parse(b.editedAt) : 0;
  if (bEdit > aEdit) return { ...a, body: b.body, editedAt: b.editedAt };
  if (!a.clientId && b.clientId) return { ...a, clientId: b.clientId };
  return a;
}
