// The anticipation display: a timeline scrolling under a fixed "now" cursor. Committed
// chords are solid blocks, planned (uncommitted) chords dashed amber outlines that may
// still change, the melody a piano roll below; the commit horizon and the end of the
// lookahead are marked, and the count-in counts down.

import { displayName, noteName } from "./chords.js";

const COLORS = {
  background: "#0c0e13", past: "rgba(0,0,0,0.22)", grid: "#1d2130", bar: "#353b52",
  text: "#e8e9ee", muted: "#7d8398", committed: "#2fc4b2", committedText: "#04201c",
  planned: "#f4b942", melody: "#ff6f91", cursor: "#ffffff",
};
const RULER = 26;
const CHORD_TOP = 34;
const CHORD_HEIGHT = 86;
const ROLL_TOP = CHORD_TOP + CHORD_HEIGHT + 14;

export class Timeline {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.pitchLow = 57;
    this.pitchHigh = 81;
  }

  _resize() {
    const ratio = window.devicePixelRatio || 1;
    const { clientWidth: w, clientHeight: h } = this.canvas;
    if (this.canvas.width !== Math.round(w * ratio) || this.canvas.height !== Math.round(h * ratio)) {
      this.canvas.width = Math.round(w * ratio);
      this.canvas.height = Math.round(h * ratio);
    }
    this.context.setTransform(ratio, 0, 0, ratio, 0, 0);
    return [w, h];
  }

  /** Draw `jam` (or an idle screen when null) at beat `now`. */
  draw(jam, now) {
    const [width, height] = this._resize();
    const g = this.context;
    g.fillStyle = COLORS.background;
    g.fillRect(0, 0, width, height);
    const settings = jam ? jam.settings : { lookahead: 8, commit: 4, countIn: 8, beatsPerBar: 4 };
    const cursor = Math.round(width * 0.26);
    const perBeat = (width - cursor) / (settings.lookahead + 2);
    const x = (beat) => cursor + (beat - now) * perBeat;
    const first = Math.floor(now - cursor / perBeat);
    const last = Math.ceil(now + (width - cursor) / perBeat);

    this._grid(g, settings, first, last, x, height, cursor);
    if (jam) {
      this._countIn(g, settings, now, x);
      this._chords(g, jam, now, x, width);
      this._melody(g, jam, now, x, height, first);
      this._horizons(g, settings, now, x);
    }
    g.fillStyle = COLORS.past;
    g.fillRect(0, RULER, cursor, height - RULER);
    g.fillStyle = COLORS.cursor;
    g.fillRect(cursor - 1, RULER - 6, 2, height - RULER + 6);
    this._rulerLabel(g, settings, now, cursor, jam);
    if (!jam) this._idle(g, width, height);
  }

  _grid(g, settings, first, last, x, height, cursor) {
    g.font = "600 11px system-ui, sans-serif";
    g.textBaseline = "middle";
    for (let beat = Math.max(first, 0); beat <= last; beat++) {
      const isBar = beat % settings.beatsPerBar === 0;
      g.fillStyle = isBar ? COLORS.bar : COLORS.grid;
      g.fillRect(Math.round(x(beat)), RULER, 1, height - RULER);
      if (isBar && Math.abs(x(beat) - cursor) > 34) {
        g.fillStyle = COLORS.muted;
        g.fillText(String(beat / settings.beatsPerBar + 1), x(beat) + 5, RULER / 2);
      }
    }
    for (let pitch = this.pitchLow; pitch <= this.pitchHigh; pitch++) {
      if (pitch % 12 !== 0) continue;
      g.fillStyle = COLORS.grid;
      g.fillRect(0, this._pitchY(pitch, height), x(last), 1);
    }
  }

  _countIn(g, settings, now, x) {
    if (settings.countIn <= 0) return;
    g.fillStyle = "rgba(125,131,152,0.10)";
    g.fillRect(x(0), CHORD_TOP, x(settings.countIn) - x(0), CHORD_HEIGHT);
    if (now < settings.countIn && now >= 0) {
      const left = Math.ceil(settings.countIn - now);
      g.font = "800 54px system-ui, sans-serif";
      g.textAlign = "center";
      g.fillStyle = "rgba(232,233,238,0.9)";
      g.fillText(String(left), x(now) + 70, CHORD_TOP + CHORD_HEIGHT / 2 + 2);
      g.font = "600 12px system-ui, sans-serif";
      g.fillStyle = COLORS.muted;
      g.fillText("COUNT-IN", x(now) + 70, CHORD_TOP + 12);
      g.textAlign = "left";
    }
  }

  _chords(g, jam, now, x, width) {
    const blocks = [...jam.committed.values()].map((c) => ({ ...c, committed: true }));
    for (const c of jam.planned) blocks.push({ ...c, committed: false });
    for (const chord of blocks) {
      if (chord.symbol === "N") continue;
      const left = x(chord.onset) + 2;
      const right = x(chord.onset + chord.duration) - 2;
      if (right < 0 || left > width || right - left < 3) continue;
      const sounding = chord.onset <= now && now < chord.onset + chord.duration;
      const gone = chord.onset + chord.duration <= now;
      g.save();
      g.beginPath();
      g.roundRect(left, CHORD_TOP, right - left, CHORD_HEIGHT, 8);
      if (chord.committed) {
        g.globalAlpha = gone ? 0.6 : 1;
        g.fillStyle = COLORS.committed;
        g.fill();
        if (sounding) {
          g.lineWidth = 3;
          g.strokeStyle = "#b9fff5";
          g.stroke();
        }
      } else {
        g.fillStyle = "rgba(244,185,66,0.10)";
        g.fill();
        g.setLineDash([7, 5]);
        g.lineWidth = 2;
        g.strokeStyle = COLORS.planned;
        g.stroke();
      }
      g.clip();
      this._chordName(g, chord, left, right);
      g.restore();
    }
  }

  _chordName(g, chord, left, right) {
    const name = displayName(chord.symbol);
    let size = 26;
    const style = chord.committed ? "800" : "italic 700";
    g.font = `${style} ${size}px system-ui, sans-serif`;
    while (size > 11 && g.measureText(name).width > right - left - 12) {
      size -= 2;
      g.font = `${style} ${size}px system-ui, sans-serif`;
    }
    g.fillStyle = chord.committed ? COLORS.committedText : COLORS.planned;
    g.textBaseline = "middle";
    g.fillText(name, left + 8, CHORD_TOP + CHORD_HEIGHT / 2 - (chord.committed ? 0 : 6));
    if (!chord.committed && right - left > 60) {
      g.font = "600 10px system-ui, sans-serif";
      g.fillText("PLANNED", left + 8, CHORD_TOP + CHORD_HEIGHT - 14);
    }
  }

  _pitchY(pitch, height) {
    const span = this.pitchHigh - this.pitchLow + 1;
    const rowHeight = (height - ROLL_TOP - 8) / span;
    return ROLL_TOP + (this.pitchHigh - pitch) * rowHeight;
  }

  _melody(g, jam, now, x, height, first) {
    const visible = jam.melody.filter((n) => (n.off === null ? now : n.off) >= first);
    if (visible.length) {
      const pitches = visible.map((n) => n.pitch);
      const low = Math.min(...pitches) - 3;
      const high = Math.max(...pitches) + 3;
      if (low < this.pitchLow || high > this.pitchHigh) {
        this.pitchLow = Math.min(this.pitchLow, low);
        this.pitchHigh = Math.max(this.pitchHigh, high);
      }
    }
    const span = this.pitchHigh - this.pitchLow + 1;
    const rowHeight = Math.max(3, (height - ROLL_TOP - 8) / span);
    g.font = "700 10px system-ui, sans-serif";
    g.textBaseline = "middle";
    for (const note of visible) {
      const left = x(note.on);
      const right = x(note.off === null ? now : note.off);
      const y = this._pitchY(note.pitch, height);
      g.fillStyle = COLORS.melody;
      g.beginPath();
      g.roundRect(left, y, Math.max(right - left, 3), rowHeight - 1, 3);
      g.fill();
      if (right - left > 28 && rowHeight >= 9) {
        g.fillStyle = "#3a0b18";
        g.fillText(noteName(note.pitch), left + 4, y + rowHeight / 2);
      }
    }
  }

  _horizons(g, settings, now, x) {
    g.save();
    g.setLineDash([3, 4]);
    g.lineWidth = 1.5;
    g.font = "600 10px system-ui, sans-serif";
    g.textBaseline = "middle";
    for (const [beats, label, color] of [[settings.commit, "COMMIT", COLORS.committed],
      [settings.lookahead, "LOOKAHEAD", COLORS.planned]]) {
      const at = Math.round(x(now + beats)) + 0.5;
      g.strokeStyle = color;
      g.beginPath();
      g.moveTo(at, RULER);
      g.lineTo(at, CHORD_TOP + CHORD_HEIGHT + 6);
      g.stroke();
      const textWidth = g.measureText(label).width;
      g.fillStyle = COLORS.background;
      g.fillRect(at - textWidth - 10, 2, textWidth + 10, RULER - 4);
      g.fillStyle = color;
      g.fillText(label, at - textWidth - 5, RULER / 2 + 1);
    }
    g.restore();
  }

  _rulerLabel(g, settings, now, cursor, jam) {
    if (!jam || now < 0) return;
    const bar = Math.floor(now / settings.beatsPerBar) + 1;
    const beat = Math.floor(now % settings.beatsPerBar) + 1;
    g.font = "700 12px system-ui, sans-serif";
    g.textBaseline = "middle";
    const label = `bar ${bar} · ${beat}`;
    const textWidth = g.measureText(label).width;
    g.fillStyle = COLORS.text;
    g.beginPath();
    g.roundRect(cursor - textWidth / 2 - 8, 3, textWidth + 16, RULER - 6, 9);
    g.fill();
    g.fillStyle = COLORS.background;
    g.fillText(label, cursor - textWidth / 2, RULER / 2 + 1);
  }

  _idle(g, width, height) {
    g.textAlign = "center";
    g.fillStyle = COLORS.text;
    g.font = "700 22px system-ui, sans-serif";
    g.fillText("Press Start, listen to the count-in, then play.", width / 2, height / 2 - 8);
    g.fillStyle = COLORS.muted;
    g.font = "500 14px system-ui, sans-serif";
    g.fillText("Chords the model has committed to are solid; the ones it is still planning are dashed.",
      width / 2, height / 2 + 22);
    g.textAlign = "left";
  }
}
