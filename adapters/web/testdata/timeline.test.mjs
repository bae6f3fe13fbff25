// Unit tests of the client's merge rules: node --test adapters/web/testdata/
// (run by TestJavaScriptUnits). Whatever order the socket, history pages
// and acks deliver the same facts in, a message shows exactly once.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timeline } from '../static/js/timeline.js';
import { backoff } from '../static/js/socket.js';
import { parse } from '../static/js/router.js';

const ME = { id: 'me', username: 'ana' };
const BO = { id: 'bo', username: 'bo' };

const posted = (seq, id, body, clientId, actor = BO, at = '2026-11-28T10:00:00.000Z') => ({
  type: 'event', room: 'r', seq, kind: 'message_posted', at, actor, data: { id, body, client_id: clientId },
});
const wire = (seq, id, body, extra = {}) => ({
  id, room: 'r', seq, author: BO, body, client_id: `c-${id}`, sent_at: '2026-11-28T10:00:00.000Z',
  edited_at: null, deleted: false, ...extra,
});
const messages = (tl) => tl.visible().filter((i) => i.kind === 'message');

test('the same message from the socket and a page shows once', () => {
  const tl = new Timeline('r');
  tl.startAt(4);
  tl.applyEvent(posted(5, 'm5', 'hi', 'c-m5'), ME.id);
  tl.mergeMessages([wire(5, 'm5', 'hi'), wire(3, 'm3', 'earlier')], ME.id);
  tl.applyEvent(posted(5, 'm5', 'hi', 'c-m5'), ME.id); // a replay repeating it
  assert.deepEqual(messages(tl).map((m) => m.seq), [3, 5]);
});

test('local echo: pending, then confirmed by the ack, then the event merges', () => {
  const tl = new Timeline('r');
  tl.startAt(0);
  tl.addPending('c1', 'hello', ME);
  assert.equal(messages(tl)[0].status, 'pending');
  tl.ack('c1', { id: 'm1', seq: 1, sent_at: '2026-11-28T10:00:00.000Z' });
  assert.equal(messages(tl).length, 1);
  assert.equal(messages(tl)[0].status, 'confirmed');
  tl.applyEvent(posted(1, 'm1', 'hello', 'c1', ME), ME.id);
  assert.equal(messages(tl).length, 1);
  assert.equal(messages(tl)[0].clientId, 'c1');
});

test('local echo: the event before the ack replaces the echo; the late ack is ignored', () => {
  const tl = new Timeline('r');
  tl.startAt(0);
  tl.addPending('c1', 'hello', ME);
  tl.setPendingStatus('c1', 'failed', 'connection dropped');
  tl.applyEvent(posted(1, 'm1', 'hello', 'c1', ME), ME.id); // replayed after reconnect
  tl.ack('c1', { id: 'm1', seq: 1 });
  assert.equal(tl.pending.size, 0);
  assert.deepEqual(messages(tl).map((m) => [m.seq, m.status]), [[1, 'confirmed']]);
});

test("someone else's message with our client_id does not eat our echo", () => {
  const tl = new Timeline('r');
  tl.startAt(0);
  tl.addPending('c1', 'mine', ME);
  tl.applyEvent(posted(1, 'm1', 'theirs', 'c1', BO), ME.id);
  assert.equal(tl.pending.size, 1);
  assert.equal(messages(tl).length, 2);
});

test('the later edit wins whatever the arrival order', () => {
  const edit = (seq, body, at) => ({ type: 'event', room: 'r', seq, kind: 'message_edited', at, actor: BO, data: { id: 'm1', body } });
  const tl = new Timeline('r');
  tl.startAt(0);
  tl.mergeMessages([wire(1, 'm1', 'v3', { edited_at: '2026-11-28T10:03:00.000Z' })], ME.id);
  tl.applyEvent(edit(2, 'v2', '2026-11-28T10:02:00.000Z'), ME.id); // replayed, older than the page
  assert.equal(tl.message('m1').body, 'v3');
  tl.applyEvent(edit(3, 'v4', '2026-11-28T10:04:00.000Z'), ME.id);
  assert.equal(tl.message('m1').body, 'v4');
  tl.mergeMessages([wire(1, 'm1', 'v3', { edited_at: '2026-11-28T10:03:00.000Z' })], ME.id); // a stale page
  assert.equal(tl.message('m1').body, 'v4');
});

test('a deletion is final', () => {
  const tl = new Timeline('r');
  tl.startAt(0);
  tl.applyEvent(posted(1, 'm1', 'oops', 'c'), ME.id);
  tl.applyEvent({ type: 'event', room: 'r', seq: 2, kind: 'message_deleted', at: 'x', actor: BO, data: { id: 'm1' } }, ME.id);
  tl.mergeMessages([wire(1, 'm1', 'oops')], ME.id); // a page read before the deletion
  assert.equal(tl.message('m1').deleted, true);
  assert.equal(tl.message('m1').body, '');
});

test('synced follows the stream and reports a gap', () => {
  const tl = new Timeline('r');
  tl.startAt(3);
  assert.equal(tl.applyEvent(posted(4, 'a', 'x', 'ca'), ME.id).gap, false);
  assert.equal(tl.applyEvent(posted(5, 'b', 'x', 'cb'), ME.id).gap, false);
  assert.equal(tl.synced, 5);
  assert.equal(tl.applyEvent(posted(7, 'c', 'x', 'cc'), ME.id).gap, true);
  assert.equal(tl.synced, 7);
});

test('system events become lines, once', () => {
  const tl = new Timeline('r');
  tl.startAt(0);
  const created = { type: 'event', room: 'r', seq: 1, kind: 'room_created', at: 'x', actor: ME, data: { name: 'g', kind: 'public' } };
  tl.applyEvent(created, ME.id);
  tl.applyEvent(created, ME.id);
  assert.deepEqual(tl.visible().map((i) => [i.kind, i.seq]), [['system', 1]]);
});

test('after a truncated replay, replayed events are skipped and live ones kept', () => {
  const tl = new Timeline('r');
  tl.startAt(10);
  tl.mergeMessages([wire(9, 'm9', 'old')], ME.id);
  tl.resetTo(900);
  assert.equal(tl.items.size, 0);
  tl.applyEvent(posted(11, 'm11', 'replayed', 'c11'), ME.id);
  tl.applyEvent(posted(901, 'm901', 'live', 'c901'), ME.id);
  assert.deepEqual(messages(tl).map((m) => m.seq), [901]);
  assert.equal(tl.synced, 901);
});

test('an older stretch hides what lies beyond it until paging meets the present', () => {
  const tl = new Timeline('r');
  tl.startAt(100);
  tl.mergeMessages([wire(10, 'a', 'x'), wire(11, 'b', 'x')], ME.id);
  tl.setWindowEnd(11);
  tl.applyEvent(posted(101, 'live', 'x', 'cl'), ME.id);
  tl.addPending('p', 'draft', ME);
  assert.deepEqual(tl.visible().map((i) => i.seq), [10, 11]);
  tl.setWindowEnd(null);
  assert.deepEqual(tl.visible().map((i) => i.seq), [10, 11, 101, null]);
});

test('clear bumps the epoch and keeps pending sends and the stream position', () => {
  const tl = new Timeline('r');
  tl.startAt(5);
  tl.addPending('p', 'draft', ME);
  tl.mergeMessages([wire(5, 'a', 'x')], ME.id);
  const epoch = tl.epoch;
  tl.clear();
  assert.equal(tl.epoch, epoch + 1);
  assert.equal(tl.synced, 5);
  assert.equal(tl.pending.size, 1);
  assert.equal(tl.items.size, 0);
});

test('trimOlder keeps the newest items', () => {
  const tl = new Timeline('r');
  tl.startAt(0);
  for (let s = 1; s <= 10; s++) tl.applyEvent(posted(s, `m${s}`, 'x', `c${s}`), ME.id);
  tl.trimOlder(3);
  assert.deepEqual(messages(tl).map((m) => m.seq), [8, 9, 10]);
  assert.equal(tl.message('m1'), null);
  assert.equal(tl.hasMoreBefore, true);
});

test('backoff grows exponentially, is jittered, and is capped', () => {
  assert.equal(backoff(0, () => 0), 250);
  assert.equal(backoff(0, () => 1), 500);
  assert.equal(backoff(3, () => 0), 2000);
  assert.equal(backoff(50, () => 1), 30_000);
  assert.equal(backoff(50, () => 0), 15_000);
});

test('router paths', () => {
  assert.deepEqual(parse('/'), { page: 'chat', roomId: null });
  assert.deepEqual(parse('/rooms/abc'), { page: 'chat', roomId: 'abc' });
  assert.deepEqual(parse('/admin'), { page: 'admin', roomId: null });
  assert.deepEqual(parse('/elsewhere'), { page: 'chat', roomId: null });
});
