// Playing without a MIDI keyboard: two octaves on the computer keyboard (tracker layout:
// Z..M and Q..U are the white keys of two octaves, the rows above the black keys), arrow
// keys shift the octave, and an on-screen piano that answers the mouse and lights up for
// every note, whatever played it. Keys are read by position (event.code), so the layout
// works on AZERTY or Dvorak keyboards too.

import { noteName } from "./chords.js";

const LOWER = ["KeyZ", "KeyS", "KeyX", "KeyD", "KeyC", "KeyV", "KeyG", "KeyB", "KeyH", "KeyN",
  "KeyJ", "KeyM", "Comma", "KeyL", "Period", "Semicolon", "Slash"];
const UPPER = ["KeyQ", "Digit2", "KeyW", "Digit3", "KeyE", "KeyR", "Digit5", "KeyT", "Digit6",
  "KeyY", "Digit7", "KeyU", "KeyI", "Digit9", "KeyO", "Digit0", "KeyP"];
const LABELS = { Comma: ",", Period: ".", Semicolon: ";", Slash: "/" };
const BLACK = new Set([1, 3, 6, 8, 10]);
const KEYS_SHOWN = 29; // C to E two octaves up

const label = (code) => LABELS[code] || code.replace("Key", "").replace("Digit", "");

export class Keyboard {
  constructor(piano, octaveLabel, { noteOn, noteOff }) {
    this.piano = piano;
    this.octaveLabel = octaveLabel;
    this.noteOn = noteOn;
    this.noteOff = noteOff;
    this.base = 60; // the Z row's C
    this.held = new Map(); // key code -> pitch
    this.elements = new Map(); // pitch -> element
    this._build();
    document.addEventListener("keydown", (e) => this._keyDown(e));
    document.addEventListener("keyup", (e) => this._keyUp(e));
    window.addEventListener("blur", () => this.releaseAll());
  }

  _pitchOf(code) {
    let index = LOWER.indexOf(code);
    if (index >= 0) return this.base + index;
    index = UPPER.indexOf(code);
    return index >= 0 ? this.base + 12 + index : null;
  }

  _keyDown(event) {
    if (event.target.closest && event.target.closest("input, select, textarea")) return;
    if (event.code === "ArrowLeft" || event.code === "ArrowRight") {
      event.preventDefault();
      this.shift(event.code === "ArrowLeft" ? -12 : 12);
      return;
    }
    const pitch = this._pitchOf(event.code);
    if (pitch === null || event.metaKey || event.ctrlKey || event.altKey) return;
    event.preventDefault();
    if (event.repeat || this.held.has(event.code)) return;
    this.held.set(event.code, pitch);
    this.noteOn(pitch);
  }

  _keyUp(event) {
    const pitch = this.held.get(event.code);
    if (pitch === undefined) return;
    this.held.delete(event.code);
    this.noteOff(pitch);
  }

  releaseAll() {
    for (const [code, pitch] of this.held) {
      this.held.delete(code);
      this.noteOff(pitch);
    }
  }

  shift(semitones) {
    const base = this.base + semitones;
    if (base < 24 || base > 84) return;
    this.releaseAll();
    this.base = base;
    this._build();
  }

  /** Light a key (any source: computer keys, mouse, MIDI). */
  show(pitch, down) {
    const element = this.elements.get(pitch);
    if (element) element.classList.toggle("down", down);
  }

  _build() {
    this.piano.textContent = "";
    this.elements.clear();
    this.octaveLabel.textContent = noteName(this.base);
    const whites = [...Array(KEYS_SHOWN).keys()].filter((i) => !BLACK.has((this.base + i) % 12));
    const whiteWidth = 100 / whites.length;
    let whiteIndex = 0;
    for (let i = 0; i < KEYS_SHOWN; i++) {
      const pitch = this.base + i;
      const black = BLACK.has(pitch % 12);
      const element = document.createElement("div");
      element.className = `key ${black ? "black" : "white"}`;
      const left = black ? whiteIndex * whiteWidth - whiteWidth * 0.3 : whiteIndex * whiteWidth;
      element.style.left = `${left}%`;
      element.style.width = `${black ? whiteWidth * 0.6 : whiteWidth}%`;
      const codes = [LOWER[i], UPPER[i - 12]].filter(Boolean).map(label);
      element.innerHTML = `<span>${codes.join(" ")}</span>` +
        (pitch % 12 === 0 ? `<span class="note">${noteName(pitch)}</span>` : "");
      element.addEventListener("pointerdown", (e) => {
        e.preventDefault();
        element.setPointerCapture(e.pointerId);
        this.noteOn(pitch);
      });
      const up = () => this.noteOff(pitch);
      element.addEventListener("pointerup", up);
      element.addEventListener("pointercancel", up);
      this.piano.appendChild(element);
      this.elements.set(pitch, element);
      if (!black) whiteIndex += 1;
    }
  }
}
