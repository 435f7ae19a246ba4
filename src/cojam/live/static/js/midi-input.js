// Web MIDI input with a device picker. Browsers offer Web MIDI only in a secure context,
// which http://localhost is; access is asked for when the musician opens the picker.

export class MidiInput {
  constructor(select, { noteOn, noteOff, status }) {
    this.select = select;
    this.handlers = { noteOn, noteOff, status };
    this.access = null;
    select.addEventListener("pointerdown", () => this.enable(), { once: true });
    select.addEventListener("focus", () => this.enable(), { once: true });
    select.addEventListener("change", () => this._listen());
  }

  async enable() {
    if (this.access) return;
    if (!navigator.requestMIDIAccess) {
      this._options([["", "Web MIDI not available"]]);
      return;
    }
    try {
      this.access = await navigator.requestMIDIAccess();
    } catch (error) {
      this._options([["", "MIDI access refused"]]);
      this.handlers.status(`MIDI: ${error.message}`);
      return;
    }
    this.access.onstatechange = () => this._refresh();
    this._refresh();
  }

  _options(entries) {
    const current = this.select.value;
    this.select.textContent = "";
    for (const [value, text] of entries) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      this.select.appendChild(option);
    }
    if (entries.some(([value]) => value === current)) this.select.value = current;
  }

  _refresh() {
    const inputs = [...this.access.inputs.values()];
    const entries = inputs.length ? [["*", "All MIDI inputs"]] : [["", "no MIDI device found"]];
    for (const input of inputs) entries.push([input.id, input.name || input.id]);
    this._options(entries);
    this._listen();
  }

  _listen() {
    if (!this.access) return;
    for (const input of this.access.inputs.values()) {
      const wanted = this.select.value === "*" || this.select.value === input.id;
      input.onmidimessage = wanted ? (message) => this._message(message.data) : null;
    }
  }

  _message([status, pitch, velocity]) {
    const kind = status & 0xf0;
    if (kind === 0x90 && velocity > 0) this.handlers.noteOn(pitch, velocity / 127);
    else if (kind === 0x80 || (kind === 0x90 && velocity === 0)) this.handlers.noteOff(pitch);
  }
}
