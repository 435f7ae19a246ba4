// The protocol v1 client: one websocket per session (see docs/protocol.md).
// Ticks are sent at most MAX_OUTSTANDING ahead of their plans, so a slow server makes the
// page skip ticks instead of queueing them.

const MAX_OUTSTANDING = 2;

export class JamSocket {
  constructor(handlers) {
    this.handlers = handlers; // {ready, plan, error, stopped, closed}
    this.socket = null;
    this.outstanding = 0;
  }

  open(startMessage) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.socket = new WebSocket(`${scheme}://${location.host}/ws`);
    this.outstanding = 0;
    this.socket.onopen = () => this.send(startMessage);
    this.socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "plan") this.outstanding = Math.max(0, this.outstanding - 1);
      const handler = this.handlers[message.type];
      if (handler) handler(message);
    };
    this.socket.onclose = (event) => this.handlers.closed(event);
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  send(message) {
    if (this.isOpen) this.socket.send(JSON.stringify({ v: 1, ...message }));
  }

  /** Send a tick unless too many are still unanswered; true when sent. */
  tick(beat) {
    if (!this.isOpen || this.outstanding >= MAX_OUTSTANDING) return false;
    this.outstanding += 1;
    this.send({ type: "tick", beat });
    return true;
  }

  stop() {
    this.send({ type: "stop" });
  }

  close() {
    if (this.socket) this.socket.close();
  }
}
