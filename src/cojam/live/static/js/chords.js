// Chord symbols of the protocol (root, quality suffix, optional /bass) -> pitches to play
// and names to show. Mirrors cojam.music.chords; "N" is no chord.

const ROOTS = { C: 0, "C#": 1, D: 2, Eb: 3, E: 4, F: 5, "F#": 6, G: 7, Ab: 8, A: 9, Bb: 10, B: 11 };
const QUALITIES = {
  "": [0, 4, 7], m: [0, 3, 7], dim: [0, 3, 6], aug: [0, 4, 8], sus2: [0, 2, 7], sus4: [0, 5, 7],
  "7": [0, 4, 7, 10], maj7: [0, 4, 7, 11], m7: [0, 3, 7, 10], m7b5: [0, 3, 6, 10],
  dim7: [0, 3, 6, 9], "6": [0, 4, 7, 9], m6: [0, 3, 7, 9],
};

function parseNote(text) {
  const name = text.length > 1 && (text[1] === "#" || text[1] === "b") ? text.slice(0, 2) : text[0];
  if (!(name in ROOTS)) throw new Error(`not a note name: ${text}`);
  return [ROOTS[name], text.slice(name.length)];
}

/** {root, intervals, bass} of a symbol, or null for "N". Throws on a symbol it cannot read. */
export function parseChord(symbol) {
  if (symbol === "N") return null;
  const [body, bassText] = symbol.split("/");
  const [root, suffix] = parseNote(body);
  if (!(suffix in QUALITIES)) throw new Error(`unknown chord quality in ${symbol}`);
  const bass = bassText ? parseNote(bassText)[0] : root;
  return { root, intervals: QUALITIES[suffix], bass };
}

/** MIDI pitches: a bass note in C2-B2, chord tones in close position from E3 up. */
export function voiceChord(symbol) {
  const chord = parseChord(symbol);
  if (!chord) return { bass: null, tones: [] };
  let base = 48 + chord.root;
  if (base < 52) base += 12;
  return { bass: 36 + chord.bass, tones: chord.intervals.map((i) => base + i) };
}

/** A symbol as a musician reads it: Bbmaj7 -> B♭maj7, F#m7b5 -> F♯m7♭5, N -> N.C. */
export function displayName(symbol) {
  if (symbol === "N") return "N.C.";
  return symbol.replace(/([A-G])#/g, "$1♯").replace(/([A-G])b/g, "$1♭").replace("m7b5", "m7♭5");
}

const NOTE_NAMES = ["C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B"];
export function noteName(pitch) {
  return NOTE_NAMES[pitch % 12] + (Math.floor(pitch / 12) - 1);
}
