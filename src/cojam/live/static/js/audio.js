// Sound with the Web Audio API, no samples: a bright electric-piano voice for the melody,
// a warm detuned-saw pad with a bass note for the chords, and a metronome click. Every
// sound is started at an exact AudioContext time, so chords and clicks scheduled ahead
// (see scheduler.js) do not jitter with the page's event loop.

import { voiceChord } from "./chords.js";

const hz = (pitch) => 440 * Math.pow(2, (pitch - 69) / 12);

export class Synth {
  constructor(stats) {
    this.stats = stats;
    this.context = new AudioContext({ latencyHint: "interactive" });
    const compressor = this.context.createDynamicsCompressor();
    compressor.threshold.value = -14;
    compressor.ratio.value = 4;
    this.master = this.context.createGain();
    this.master.gain.value = 0.8;
    this.master.connect(compressor).connect(this.context.destination);
    this.melodyVoices = new Map(); // pitch -> voice
    this.chordVoice = null;
  }

  get now() {
    return this.context.currentTime;
  }

  resume() {
    return this.context.resume();
  }

  _node(node) {
    this.stats.audioNodes += 1;
    return node;
  }

  _oscillator(type, frequency, detune = 0) {
    const osc = this._node(this.context.createOscillator());
    osc.type = type;
    osc.frequency.value = frequency;
    osc.detune.value = detune;
    return osc;
  }

  /** The melody voice: sounds now, until noteOff. */
  noteOn(pitch, velocity = 0.8) {
    this.noteOff(pitch);
    const t = this.now;
    const gain = this._node(this.context.createGain());
    const filter = this._node(this.context.createBiquadFilter());
    filter.type = "lowpass";
    filter.frequency.value = 4200;
    const peak = 0.32 * velocity;
    gain.gain.setValueAtTime(0, t);
    gain.gain.linearRampToValueAtTime(peak, t + 0.006);
    gain.gain.exponentialRampToValueAtTime(peak * 0.45, t + 0.9);
    const body = this._oscillator("triangle", hz(pitch));
    const bell = this._oscillator("sine", hz(pitch) * 2, 4);
    const bellGain = this._node(this.context.createGain());
    bellGain.gain.setValueAtTime(0.35, t);
    bellGain.gain.exponentialRampToValueAtTime(0.02, t + 0.5);
    body.connect(filter);
    bell.connect(bellGain).connect(filter);
    filter.connect(gain).connect(this.master);
    body.start(t);
    bell.start(t);
    this.melodyVoices.set(pitch, { gain, oscillators: [body, bell] });
  }

  noteOff(pitch) {
    const voice = this.melodyVoices.get(pitch);
    if (!voice) return;
    this.melodyVoices.delete(pitch);
    this._release(voice, this.now, 0.18);
  }

  _release(voice, time, seconds) {
    voice.gain.gain.cancelScheduledValues(time);
    voice.gain.gain.setTargetAtTime(0, time, seconds / 4);
    for (const osc of voice.oscillators) osc.stop(time + seconds + 0.05);
  }

  /** Start chord `symbol` at AudioContext time `time` (ending the chord before it);
   * "N" only ends the previous chord. */
  playChord(symbol, time) {
    if (this.chordVoice) this._release(this.chordVoice, time, 0.25);
    this.chordVoice = null;
    const { bass, tones } = voiceChord(symbol);
    if (bass === null) return;
    const gain = this._node(this.context.createGain());
    const filter = this._node(this.context.createBiquadFilter());
    filter.type = "lowpass";
    filter.frequency.setValueAtTime(700, time);
    filter.frequency.linearRampToValueAtTime(1500, time + 0.25);
    filter.Q.value = 0.8;
    gain.gain.setValueAtTime(0, time);
    gain.gain.linearRampToValueAtTime(0.16, time + 0.04);
    gain.gain.setTargetAtTime(0.11, time + 0.05, 0.4);
    filter.connect(gain).connect(this.master);
    const oscillators = [];
    for (const pitch of tones) {
      for (const detune of [-7, 7]) {
        const osc = this._oscillator("sawtooth", hz(pitch), detune);
        const level = this._node(this.context.createGain());
        level.gain.value = 0.16;
        osc.connect(level).connect(filter);
        oscillators.push(osc);
      }
    }
    const low = this._oscillator("triangle", hz(bass));
    const lowLevel = this._node(this.context.createGain());
    lowLevel.gain.value = 0.9;
    low.connect(lowLevel).connect(gain);
    oscillators.push(low);
    for (const osc of oscillators) osc.start(time);
    this.chordVoice = { gain, oscillators };
    this.stats.chordsScheduled += 1;
  }

  /** A metronome click at `time`, higher on the first beat of a bar. */
  click(time, accent) {
    const osc = this._oscillator("square", accent ? 1760 : 1175);
    const gain = this._node(this.context.createGain());
    gain.gain.setValueAtTime(accent ? 0.22 : 0.12, time);
    gain.gain.exponentialRampToValueAtTime(0.001, time + 0.04);
    osc.connect(gain).connect(this.master);
    osc.start(time);
    osc.stop(time + 0.05);
    this.stats.clicks += 1;
  }

  stopAll() {
    const t = this.now;
    if (this.chordVoice) this._release(this.chordVoice, t, 0.3);
    this.chordVoice = null;
    for (const pitch of [...this.melodyVoices.keys()]) this.noteOff(pitch);
  }
}
