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
  errors: 0, lateChords: 0, lastComputeMs: null,
};
const state = { running: false, session: null, lastError: null, jam: null };
window.cojam = { stats, state };

let synth = null;
let socket = null;
let timer = null;
let frozenBeat = 0;
const timeline = new Timeline($("timeline"));
const controls = ["tempo", "count-in", "lookahead", "commit", "temperature", "model"].map($);

function ensureSynth() {
  if (!synth) synth = new Synth(stats);
  synth.resume();
  return synth;
}

function status(text, kind = "") {
  $("status-text").textContent = text;
  $("connection").className = `dot ${kind}`;
}

function number(id, low, high) {
  const value = Number($(id).value);
  return Math.min(high, Math.max(low, Number.isFinite(value) ? value : low));
}

function settings() {
  const lookahead = Math.round(number("lookahead", 1, 16));
  return {
    tempo: number("tempo", 40, 240), countIn: Math.round(number("count-in", 0, 32)),
    lookahead, commit: Math.min(lookahead, Math.round(number("commit", 1, 16))),
    temperature: number("temperature", 0, 2), model: $("model").value || "default",
    beatsPerBar: 4, metronome: $("metronome").checked,
  };
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
async function start() {
  const chosen = settings();
  await ensureSynth().resume();
  status("connecting…");
  $("start").disabled = true;
  socket = new JamSocket({
    ready(message) {
      state.jam = new Jam(chosen, synth, stats);
      state.running = true;
      state.session = message.session;
      timer = setInterval(loop, SCHEDULE_EVERY_MS);
      $("download").href = `/api/sessions/${message.session}/midi`;
      $("download").hidden = false;
      $("rec").hidden = false;
      setRunning(true);
      status(`jamming with ${message.model}`, "on");
    },
    plan(message) {
      if (state.jam) state.jam.applyPlan(message);
    },
    error(message) {
      stats.errors += 1;
      state.lastError = message.message;
      status(message.message, "error");
      if (!state.running && socket) {
        socket.close(); // the start was refused: the next Start opens a fresh socket
        setRunning(false);
      }
    },
    stopped() {
      finish("session saved");
    },
    closed() {
      finish(state.running ? "connection closed" : null);
    },
  });
  socket.open({
    type: "start", tempo: chosen.tempo, beats_per_bar: chosen.beatsPerBar,
    lookahead: chosen.lookahead, commit: chosen.commit, count_in: chosen.countIn,
    model: chosen.model, temperature: chosen.temperature,
  });
}

function loop() {
  const jam = state.jam;
  if (!jam) return;
  jam.schedule();
  const beat = jam.dueTick();
  if (beat !== null && socket.tick(beat)) stats.ticksSent += 1;
}

function stop() {
  if (socket) socket.stop();
  finish("stopping…");
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
  if (text) status(text, text === "connection closed" ? "error" : "");
}

function setRunning(running) {
  $("start").disabled = false;
  $("start").textContent = running ? "■ Stop" : "▶ Start";
  $("start").classList.toggle("stop", running);
  for (const control of controls) control.disabled = running;
}

$("start").addEventListener("click", () => (state.running ? stop() : start()));

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
