// The one WebSocket to /ws, kept alive. It knows the frame plumbing of
// PROTOCOL.md (hello, refs, ping, close codes) and nothing about rooms:
// after every hello it calls onReady, and the caller resubscribes.
//
// Reconnecting: any close other than 4001/4003 schedules a new connection
// after an exponential backoff with jitter, so a restarted server is not
// hit by every client in the same instant. 1013 (we fell behind) and 1000
// (server shutdown) are ordinary closes: resubscribing with `after` resumes.

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;
const REQUEST_TIMEOUT_MS = 20_000;
const HEARTBEAT_DEFAULT_MS = 25_000;

/** A socket reply that failed: an error frame, or no reply before close. */
export class SocketError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'SocketError';
    this.code = code;
  }
}

/** Delay before reconnect attempt n (0-based): half fixed, half random. */
export function backoff(n, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(n, 16));
  return ceiling / 2 + random() * (ceiling / 2);
}

export class ChatSocket {
  /**
   * handlers: onReady(hello) after each hello; onFrame(frame) for frames
   * that are not replies; onStatus('connecting'|'open'|'reconnecting');
   * onAuthLost(code) on 4001/4003; onHandshakeFailed() when a connection
   * closed before hello (maybe the session expired: the caller checks).
   */
  constructor(handlers) {
    this.h = handlers;
    this.ws = null;
    this.ready = false;
    this.stopped = true;
    this.attempt = 0;
    this.nextRef = 1;
    this.waiting = new Map(); // ref → {resolve, reject, timer}
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.lastHeard = 0;
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    this._connect();
  }

  /** Closes for good (log-out): no reconnect. */
  stop() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (ws) this._closed(ws, { code: 1000 });
    ws?.close(1000);
  }

  /** Skips the remaining backoff, e.g. when the browser comes back online. */
  reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    this._connect();
  }

  get isOpen() {
    return this.ready && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Sends a frame that needs no reply; false when not connected. */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Sends a frame with a fresh ref and resolves with the reply that echoes
   * it. Rejects with SocketError: the error frame's code, or 'disconnected'
   * when the socket closes first (the frame may or may not have been acted
   * on, which is why sends carry a client_id).
   */
  request(frame) {
    if (!this.isOpen) return Promise.reject(new SocketError('disconnected', 'Not connected.'));
    const ref = String(this.nextRef++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(ref);
        reject(new SocketError('disconnected', 'No answer from the server.'));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  _connect() {
    const url = new URL('/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.ready = false;
    this.h.onStatus?.(this.attempt === 0 ? 'connecting' : 'reconnecting');
    ws.onmessage = (ev) => this._receive(ws, ev);
    ws.onclose = (ev) => this._closed(ws, ev);
    // An error is always followed by close, which does the work.
    ws.onerror = () => {};
  }

  _receive(ws, ev) {
    if (ws !== this.ws) return;
    this.lastHeard = Date.now();
    let f;
    try {
      f = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (f.type === 'hello') {
      this.ready = true;
      this.attempt = 0;
      this._startHeartbeat(f.heartbeat_ms || HEARTBEAT_DEFAULT_MS);
      this.h.onStatus?.('open');
      this.h.onReady?.(f);
      return;
    }
    const w = f.ref !== undefined ? this.waiting.get(f.ref) : undefined;
    if (w) {
      this.waiting.delete(f.ref);
      clearTimeout(w.timer);
      if (f.type === 'error') w.reject(new SocketError(f.code, f.message));
      else w.resolve(f);
      return;
    }
    if (f.type !== 'pong') this.h.onFrame?.(f);
  }

  _closed(ws, ev) {
    if (ws !== this.ws) return;
    this.ws = null;
    const wasReady = this.ready;
    this.ready = false;
    clearInterval(this.heartbeatTimer);
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new SocketError('disconnected', 'The connection closed before the server answered.'));
    }
    this.waiting.clear();
    if (this.stopped) return;
    if (ev.code === 4001 || ev.code === 4003) {
      this.stopped = true;
      this.h.onAuthLost?.(ev.code);
      return;
    }
    this.h.onStatus?.('reconnecting');
    if (!wasReady) this.h.onHandshakeFailed?.();
    this._scheduleReconnect();
  }

  _scheduleReconnect() {
    clearTimeout(this.reconnectTimer);
    const delay = backoff(this.attempt++);
    this.reconnectTimer = setTimeout(() => this._connect(), delay);
  }

  // Pings at half the server's interval keep us from being idled out (it
  // closes after two silent intervals), and the pongs let us notice a dead
  // connection that the browser has not reported closed yet.
  _startHeartbeat(intervalMs) {
    clearInterval(this.heartbeatTimer);
    const ws = this.ws;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastHeard > intervalMs * 1.5) {
        this._closed(ws, { code: 4000 });
        ws.close();
        return;
      }
      this.send({ type: 'ping' });
    }, Math.max(1000, intervalMs / 2));
  }
}
