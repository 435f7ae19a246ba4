// The protocol v1 client: one websocket per session (see docs/protocol.md).
// Ticks are sent at most MAX_OUTSTANDING ahead of their answers, so a slow server makes
// the page skip ticks instead of queueing them. A tick is answered by its plan, or by an
// error whose ref is "tick"; one unanswered for FORGET_AFTER_MS is given up, so a lost
// answer can never stop the ticking.

const MAX_OUTSTANDING = 2;
const FORGET_AFTER_MS = 2000;

export class JamSocket {
  constructor(handlers) {
    // {ready, plan(message, roundTripMs), error, stopped, closed(event, opened), failed}
    this.handlers = handlers;
    this.socket = null;
    this.pending = []; // send times (performance.now()) of unanswered ticks, oldest first
    this.opened = false;
    this.closing = false; // we closed it (stop, or a refused start): not a drop
  }

  open(firstMessage) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.socket = new WebSocket(`${scheme}://${location.host}/ws`);
    this.socket.onopen = () => {
      this.opened = true;
      this.send(firstMessage);
    };
    this.socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      let roundTrip = null;
      if (message.type === "plan" || (message.type === "error" && message.ref === "tick")) {
        const sent = this.pending.shift();
        if (sent !== undefined) roundTrip = performance.now() - sent;
      }
      const handler = this.handlers[message.type];
      if (handler) handler(message, roundTrip);
    };
    this.socket.onclose = (event) => this.handlers.closed(event, this.opened, this.closing);
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (this.isOpen) this.socket.send(JSON.stringify({ v: 1, ...message }));
  }

  /** Send a tick unless too many are still unanswered; true when sent. */
  tick(beat) {
    const now = performance.now();
    while (this.pending.length && now - this.pending[0] > FORGET_AFTER_MS) this.pending.shift();
    if (!this.isOpen || this.pending.length >= MAX_OUTSTANDING) return false;
    this.pending.push(now);
    this.send({ type: "tick", beat });
    return true;
  }

  stop() {
    this.closing = true;
    if (this.isOpen) this.send({ type: "stop" });
    else this.close();
  }

  close() {
    this.closing = true;
    if (this.socket) this.socket.close(1000); // on purpose: the server ends the session
  }

  /** Drop the connection as a network failure would (for tests and the curious). */
  drop() {
    if (this.socket) this.socket.close(4000, "dropped");
  }
}
