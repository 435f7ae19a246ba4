// One running jam on the page: the clock, what the server planned, what was played, and
// the look-ahead scheduler that turns committed chords and metronome beats into sound.
//
// The clock is the AudioContext's: beat = (time - t0) * tempo / 60, so what we send to the
// server and what we hear share one time base. Every SCHEDULE_EVERY_MS the scheduler
// starts all sounds due in the next SCHEDULE_AHEAD_S at their exact times (Chris Wilson's
// "tale of two clocks"); only committed chords are ever played, since a committed chord
// never changes.

export const SCHEDULE_EVERY_MS = 25;
const SCHEDULE_AHEAD_S = 0.12;
const START_DELAY_S = 0.15;

const key = (onset) => onset.toFixed(3);

export class Jam {
  constructor(settings, synth, stats) {
    this.settings = settings; // {tempo, countIn, lookahead, commit, beatsPerBar, metronome}
    this.synth = synth;
    this.stats = stats;
    this.t0 = synth.now + START_DELAY_S;
    this.committed = new Map(); // onset key -> {symbol, onset, duration}
    this.planned = []; // uncommitted chords of the latest plan
    this.melody = []; // {pitch, on, off}
    this.played = new Set(); // onset keys of committed chords already scheduled
    this.nextClick = 0; // next whole beat to click
    this.lastTickFrame = -1;
  }

  beatAt(time) {
    return ((time - this.t0) * this.settings.tempo) / 60;
  }

  timeAt(beat) {
    return this.t0 + (beat * 60) / this.settings.tempo;
  }

  get beat() {
    return this.beatAt(this.synth.now);
  }

  applyPlan(plan) {
    this.planned = [];
    for (const chord of plan.chords) {
      if (chord.committed) this.committed.set(key(chord.onset), chord);
      else this.planned.push(chord);
    }
    this.stats.plans += 1;
    this.stats.lastComputeMs = plan.compute_ms;
  }

  /** The beat of a new tick, when the clock has entered a new frame, else null. */
  dueTick() {
    const beat = this.beat;
    const frame = Math.floor(beat * 4);
    if (beat < 0 || frame <= this.lastTickFrame) return null;
    this.lastTickFrame = frame;
    return Math.round(beat * 10000) / 10000;
  }

  noteOn(pitch) {
    const beat = Math.max(0, this.beat);
    this.melody.push({ pitch, on: beat, off: null });
    return beat;
  }

  noteOff(pitch) {
    const beat = Math.max(0, this.beat);
    for (const note of this.melody) if (note.pitch === pitch && note.off === null) note.off = beat;
    return beat;
  }

  /** Start every click and committed chord due before now + SCHEDULE_AHEAD_S. */
  schedule() {
    const now = this.synth.now;
    const horizon = this.beatAt(now + SCHEDULE_AHEAD_S);
    const current = this.beatAt(now);
    while (this.nextClick < horizon) {
      const beat = this.nextClick;
      if (this.settings.metronome || beat < this.settings.countIn) {
        this.synth.click(this.timeAt(beat), beat % this.settings.beatsPerBar === 0);
      }
      this.nextClick += 1;
    }
    const due = [...this.committed.values()]
      .filter((c) => c.onset < horizon && !this.played.has(key(c.onset)))
      .sort((a, b) => a.onset - b.onset);
    for (const chord of due) {
      this.played.add(key(chord.onset));
      if (chord.onset + chord.duration <= current) continue; // long gone
      if (chord.onset < current) this.stats.lateChords += 1;
      this.synth.playChord(chord.symbol, Math.max(now, this.timeAt(chord.onset)));
    }
  }
}
