// The jam page: wires the controls, the keyboard and MIDI input, the sound, the socket and
// the timeline together. window.cojam exposes the page's state and counters (stats) so a
// test, or a curious musician in the console, can see what is happening.

import { Synth } from "./audio.js";
import { displayName } from "./chords.js";
import { Jam, SCHEDULE_EVERY_MS } from "./jam.js";
import { Keyboard } from "./keyboard.js";
import { MidiInput } from "./midi-input.js";
import { JamSocket } from "./socket.js";
import { Timeline } from "./timeline.js";

const $ = (id) => document.getElementById(id);
const stats = {
  ticksSent: 0, plans: 0, chordsScheduled: 0, audioNodes: 0, clicks: 0, notesSent: 0,
  errors: 0, lateChords: 0, lastComputeMs: null, lastRoundTripMs: null, roundTrips: [],
  reconnects: 0,
};
const state = { running: false, session: null, lastError: null, jam: null, tooSlow: false };
// drop(): close the socket as a network failure would, to try the reconnection by hand
window.cojam = { stats, state, drop: () => socket && socket.drop() };

let synth = null;
let socket = null;
let timer = null;
let frozenBeat = 0;
const timeline = new Timeline($("timeline"));
const controls = ["tempo", "count-in", "listen", "rhythm", "lookahead", "commit", "temperature",
  "style", "model"].map($);

function ensureSynth() {
  if (!synth) synth = new Synth(stats);
  synth.resume();
  return synth;
}

function status(text, kind = "") {
  $("status-text").textContent = text;
  $("connection").className = `dot ${kind}`;
}

// A value out of its field's range is clamped, and the field shows what will be used,
// with a note saying so, rather than silently playing something else than was typed.
const clampedNotes = [];
function number(id, low, high, round = false) {
  const typed = Number($(id).value);
  let value = Math.min(high, Math.max(low, Number.isFinite(typed) ? typed : low));
  if (round) value = Math.round(value);
  if (value !== typed) {
    clampedNotes.push(`${id} ${$(id).value || "(empty)"} → ${value}`);
    $(id).value = String(value);
  }
  return value;
}

function settings() {
  clampedNotes.length = 0;
  const lookahead = number("lookahead", 1, 16, true);
  const chosen = {
    tempo: number("tempo", 40, 240), countIn: number("count-in", 0, 32, true),
    lookahead, commit: number("commit", 1, lookahead, true),
    listen: number("listen", 0, 32, true), rhythm: $("rhythm").value,
    temperature: number("temperature", 0, 2), style: $("style").value,
    model: $("model").value || "default",
    beatsPerBar: 4, metronome: $("metronome").checked,
  };
  session.clamped = clampedNotes.length ? `clamped: ${clampedNotes.join(", ")}` : "";
  $("notice").textContent = session.clamped;
  return chosen;
}

// ------------------------------------------------------------------ notes
function noteOn(pitch, velocity = 0.8) {
  ensureSynth().noteOn(pitch, velocity);
  keyboard.show(pitch, true);
  if (state.running && state.jam) {
    socket.send({ type: "note_on", pitch, beat: state.jam.noteOn(pitch) });
    stats.notesSent += 1;
  }
}

function noteOff(pitch) {
  if (synth) synth.noteOff(pitch);
  keyboard.show(pitch, false);
  if (state.running && state.jam) socket.send({ type: "note_off", pitch, beat: state.jam.noteOff(pitch) });
}

const keyboard = new Keyboard($("piano"), $("octave-label"), { noteOn, noteOff });
$("octave-down").addEventListener("click", () => keyboard.shift(-12));
$("octave-up").addEventListener("click", () => keyboard.shift(12));
new MidiInput($("midi-input"), { noteOn, noteOff, status: (text) => status(text, "error") });

// ------------------------------------------------------------------ session
// Every socket belongs to one session (an epoch): a socket's late events (the old
// session's "stopped", its close) are ignored once the musician has started anew. A
// socket that fails before the session is ready is retried; one that drops mid-session
// is reconnected and the session resumed (its token from "ready"), the clock running on.
const RETRY_MS = [500, 1000, 2000, 4000, 8000];
const STOP_CLOSE_MS = 10000; // a stopped socket the server has not closed by then is closed
let epoch = 0;
const session = { token: null, retries: 0, retryTimer: null, chosen: null };

async function start() {
  const chosen = settings();
  await ensureSynth().resume();
  epoch += 1;
  Object.assign(session, { token: null, retries: 0, chosen });
  stats.roundTrips = [];
  $("start").disabled = true;
  connect(startMessage(chosen));
}

function startMessage(chosen) {
  return {
    type: "start", tempo: chosen.tempo, beats_per_bar: chosen.beatsPerBar,
    lookahead: chosen.lookahead, commit: chosen.commit, count_in: chosen.countIn,
    listen: chosen.listen, harmonic_rhythm: chosen.rhythm, model: chosen.model,
    temperature: chosen.temperature, style: chosen.style,
  };
}

function connect(first) {
  const mine = epoch;
  const current = () => mine === epoch && socket === jamSocket;
  const jamSocket = new JamSocket({
    ready(message) {
      if (current()) ready(message);
    },
    plan(message, roundTrip) {
      if (!current() || !state.jam) return;
      state.jam.applyPlan(message);
      measured(roundTrip);
    },
    error(message) {
      if (!current()) return;
      stats.errors += 1;
      state.lastError = message.message;
      status(message.message, "error");
      if (message.ref === "start" || message.ref === "resume") {
        jamSocket.close(); // refused: the next Start opens a fresh socket
        if (state.running) finish(`could not resume: ${message.message}`);
        else setRunning(false);
      }
    },
    stopped() {
      jamSocket.close();
      if (mine === epoch) finish("session saved");
    },
    closed(event, opened, closing) {
      if (!current()) return;
      socket = null;
      if (!closing) retry(first, opened);
    },
  });
  socket = jamSocket;
  jamSocket.open(first);
}

function retry(first, opened) {
  if (session.retries >= RETRY_MS.length) {
    finish(state.running ? "connection lost" : "could not connect to the server");
    if (!state.running) status("could not connect to the server", "error");
    return;
  }
  const wait = RETRY_MS[session.retries];
  session.retries += 1;
  const what = state.running ? "connection lost" : opened ? "connection closed" : "could not connect";
  status(`${what}: retrying in ${wait / 1000} s (${session.retries}/${RETRY_MS.length})`, "error");
  stats.reconnects += 1;
  const mine = epoch;
  session.retryTimer = setTimeout(() => {
    if (mine !== epoch) return;
    const resume = state.running && session.token;
    const beat = state.jam ? Math.round(Math.max(0, state.jam.beat) * 10000) / 10000 : 0;
    connect(resume ? { type: "resume", token: session.token, beat } : first);
  }, wait);
}

function ready(message) {
  session.retries = 0;
  if (message.resumed) {
    status(`resumed: jamming with ${message.model}`, "on");
    return;
  }
  const chosen = session.chosen;
  state.jam = new Jam(chosen, synth, stats);
  state.running = true;
  state.session = message.session;
  session.token = message.resume;
  timer = setInterval(loop, SCHEDULE_EVERY_MS);
  $("download").href = `/api/sessions/${message.session}/midi`;
  $("download").hidden = false;
  $("rec").hidden = false;
  setRunning(true);
  status(`jamming with ${message.model}`, "on");
}

function measured(roundTrip) {
  if (roundTrip === null) return;
  stats.lastRoundTripMs = roundTrip;
  stats.roundTrips.push(roundTrip);
  if (stats.roundTrips.length > 64) stats.roundTrips.shift();
  // Slower than one tick per frame, the plans fall behind the music: say so.
  const frameMs = 60000 / session.chosen.tempo / 4;
  const recent = stats.roundTrips.slice(-16);
  const late = recent.filter((ms) => ms > frameMs).length;
  state.tooSlow = recent.length === 16 && late > 8;
  $("notice").textContent = state.tooSlow
    ? `the server answers slower than the music needs (${median(recent).toFixed(0)} ms per tick, a sixteenth lasts ${frameMs.toFixed(0)} ms): lower lookahead, commit or tempo`
    : session.clamped;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function loop() {
  const jam = state.jam;
  if (!jam) return;
  jam.schedule();
  const beat = jam.dueTick();
  if (beat !== null && socket && socket.tick(beat)) stats.ticksSent += 1;
}

function stop() {
  if (session.retryTimer) clearTimeout(session.retryTimer);
  const stopping = socket;
  if (stopping) {
    stopping.stop();
    setTimeout(() => stopping.close(), STOP_CLOSE_MS);
  }
  finish(stopping ? "stopping…" : "stopped");
}

function finish(text) {
  if (timer) clearInterval(timer);
  timer = null;
  if (state.running && state.jam) frozenBeat = state.jam.beat;
  state.running = false;
  keyboard.releaseAll();
  if (synth) synth.stopAll();
  setRunning(false);
  $("rec").hidden = true;
  if (text) status(text, text === "connection lost" ? "error" : "");
}

function setRunning(running) {
  $("mark-good").disabled = $("mark-bad").disabled = !running;
  $("start").disabled = false;
  $("start").textContent = running ? "■ Stop" : "▶ Start";
  $("start").classList.toggle("stop", running);
  for (const control of controls) control.disabled = running;
}

$("start").addEventListener("click", () => (state.running ? stop() : start()));

// ------------------------------------------------------------------ marks
// The musician marks a moment good (=) or bad (-): a feedback message, kept in the
// session log for learning from sessions (cojam learn); the jam itself is unchanged.
function mark(value) {
  if (!state.running || !state.jam || !socket) return;
  socket.send({ type: "feedback", value, beat: Math.max(0, state.jam.beat) });
  const button = $(value === "good" ? "mark-good" : "mark-bad");
  button.classList.add("marked");
  setTimeout(() => button.classList.remove("marked"), 300);
}
document.addEventListener("keydown", (event) => {
  if (event.target.closest && event.target.closest("input, select, textarea")) return;
  if (event.repeat || event.metaKey || event.ctrlKey || event.altKey) return;
  const value = { Equal: "good", Minus: "bad" }[event.code];
  if (!value) return;
  event.preventDefault();
  mark(value);
});
$("mark-good").addEventListener("click", () => mark("good"));
$("mark-bad").addEventListener("click", () => mark("bad"));

fetch("/api/models").then((r) => r.json()).then(({ models }) => {
  for (const name of models) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    $("model").appendChild(option);
  }
});

// ------------------------------------------------------------------ display
function readout(jam, now) {
  const all = jam ? [...jam.committed.values(), ...jam.planned].sort((a, b) => a.onset - b.onset) : [];
  const current = all.find((c) => c.onset <= now && now < c.onset + c.duration);
  const next = all.find((c) => c.onset > now && c.symbol !== "N");
  $("now-chord").textContent = current ? displayName(current.symbol) : "–";
  $("next-chord").textContent = next ? displayName(next.symbol) : "–";
  $("next-chord").className = next && next.committed ? "committed" : "planned";
  $("next-in").textContent = next ? `in ${(next.onset - now).toFixed(1)} beats` : "";
  $("model-ms").textContent = stats.lastComputeMs === null ? "–" : `${stats.lastComputeMs.toFixed(1)} ms`;
  $("round-trip").textContent = stats.lastRoundTripMs === null ? "–" : `${stats.lastRoundTripMs.toFixed(0)} ms`;
}

let lastReadout = 0;
function frame(time) {
  const jam = state.jam;
  const now = jam ? (state.running ? jam.beat : frozenBeat) : 0;
  timeline.draw(jam, now);
  if (time - lastReadout > 150) {
    readout(jam, now);
    lastReadout = time;
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
