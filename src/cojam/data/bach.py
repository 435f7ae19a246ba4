"""Bach's four-voice chorales, the embedded default corpus (music21 ships ~400 of them).

Each chorale becomes one ``Song``: the soprano is the melody, and the chords are a
beat-level harmonic reduction of all four voices. Timing: a beat is a quarter note and a
pickup bar is padded at its front to a full bar, so bar lines fall on multiples of
``beats_per_bar`` (a one-beat pickup in 4/4 starts at beat 3; ``meta["pickup_beats"]``
says how long it was). Repeats are read as written, not unfolded; where a first ending is
a short bar completing the pickup, the bars after it sit off the bar grid by the pickup's
length (10 of music21's chorales).

The reduction names each beat from the pitch classes sounding in it:

- a note weighs the fraction of the beat it sounds, plus ``ONSET_WEIGHT`` if it sounds at
  the beat's start; the bass note at the beat's start counts ``BASS_WEIGHT`` times and
  is the chord's bass (an inversion when it is a chord tone);
- a suspension (a note held into the beat, dissonant with the bass, resolving down by
  step within the beat or on the next one while the bass stays) is heard as its
  resolution arriving late, so a 4-3 over G names G, not Gsus4. An unprepared dissonance
  lasting a whole beat is what sounds and is named as such (often ``sus4``);
- pitch classes weighing under ``MIN_TONE_WEIGHT`` in all (an unaccented passing or
  neighbour eighth) are non-chord tones and do not take part in naming;
- **fallback rule**: a beat whose best chord explains under ``MIN_EXPLAINED`` of the
  beat's weight, or that sounds fewer than two strong pitch classes (a unison), keeps
  the previous beat's chord — passing motion prolongs the harmony before it. With no
  previous chord (the first beat, or after a beat where all voices rest) it has none;
- an added-sixth chord is named as the seventh chord it inverts (F6 -> Dm7/F).

Adjacent equal chords merge into one span; beats where all voices rest have no chord.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from music21 import converter, corpus, meter, stream
from music21.analysis.discrete import AardenEssen

from cojam.data.budget import InputBudget
from cojam.data.musicxml import pickup_beats
from cojam.data.sources import Skipped, find_by_suffix
from cojam.music.chords import PITCH_CLASS_NAMES, Chord, chord_from_pitch_classes
from cojam.music.song import ChordSpan, Note, Song

SOURCE = "bach"
SUFFIXES = (".mxl", ".musicxml", ".xml", ".krn")  # preference order when a stem repeats
BUDGET = InputBudget(seconds=60, bytes=20_000_000)
VOICES = ("soprano", "alto", "tenor", "bass")

ONSET_WEIGHT = 0.5  # what sounds when the beat starts is what the ear takes as its chord
BASS_WEIGHT = 1.5  # the bass defines the harmony more than an inner voice does
MIN_TONE_WEIGHT = 0.75  # an off-beat eighth in one voice (0.5) is a non-chord tone
MIN_EXPLAINED = 0.7  # under this share of the beat's weight the naming is not trusted
_DISSONANT_ABOVE_BASS = {1, 2, 5, 10, 11}  # seconds, fourth, sevenths (mod octave)
# In Bach an added-sixth sound is a ii7 over its third (F A C D is Dm7/F, "ii6/5"), not
# the root-position F6 of a lead sheet, which chord_from_pitch_classes prefers.
_SIXTH_AS_SEVENTH = {"6": "m7", "m6": "m7b5"}
_KEY_PROFILES = {mode: np.array(AardenEssen().getWeights(mode)) for mode in ("major", "minor")}


class _Unusable(Exception):
    """A parsed chorale that cannot become a Song; the message is the Skipped reason."""


@dataclass(frozen=True)
class Tone:
    """A note sounding in one voice, ties merged: MIDI ``pitch`` from ``onset`` to ``end``."""

    onset: float
    end: float
    pitch: int


def find_inputs(root: Path | None) -> list[Path]:
    """music21's Bach chorales when ``root`` is None, else the score files under ``root``."""
    if root is None:
        return sorted(p for p in corpus.getComposer("bach") if p.suffix.lower() in SUFFIXES)
    return find_by_suffix(root, SUFFIXES)


def read(path: Path) -> Iterator[Song | Skipped]:
    """One ``Song`` per chorale in ``path`` (a file may hold several), or ``Skipped``."""
    path = Path(path)
    twin = _preferred_twin(path)
    if twin is not None:  # music21 ships some chorales as both .mxl and .krn
        yield Skipped(str(path), f"same chorale as {twin.name}, which is read instead")
        return
    try:
        parsed = converter.parse(path)
    except Exception as error:  # noqa: BLE001 - music21 raises XML, zip, index... errors
        yield Skipped(str(path), f"cannot parse: {type(error).__name__}: {error}")
        return
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    for number, score in enumerate(scores, start=1):
        song_id = f"{SOURCE}:{path.stem}" + (f"#{number}" if len(scores) > 1 else "")
        try:
            yield _song(score, song_id, path)
        except _Unusable as why:
            yield Skipped(str(path) + (f"#{number}" if len(scores) > 1 else ""), str(why))


def _preferred_twin(path: Path) -> Path | None:
    """A sibling with the same stem and a more preferred suffix, if one exists."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        return None
    for better in SUFFIXES[: SUFFIXES.index(suffix)]:
        twin = path.with_suffix(better)
        if twin.exists():
            return twin
    return None


def _song(score: stream.Score, song_id: str, path: Path) -> Song:
    parts = _four_voices(score)
    signatures = list(parts[0].recurse().getElementsByClass(meter.TimeSignature))
    if not signatures:
        raise _Unusable("no time signature")
    signature = signatures[0]
    shift = pickup_beats(parts[0])
    pickup = float(signature.barDuration.quarterLength) - shift if shift else 0.0
    voices = [[Tone(t.onset + shift, t.end + shift, t.pitch) for t in _tones(p)] for p in parts]
    notes = _melody(voices[0])
    if not notes:
        raise _Unusable("the soprano has no notes")
    chords = beat_chords(voices)
    if not chords:
        raise _Unusable("no beat could be named as a chord")
    # music21 fills the movement name with the file name when a file has no title
    titles = (score.metadata.title, score.metadata.movementName) if score.metadata else ()
    title = next((t for t in titles if t and t != path.name), None)
    return Song(
        song_id=song_id, source=SOURCE, notes=tuple(notes), chords=tuple(chords),
        time_signature=(signature.numerator, signature.denominator),
        key=_key_name(voices), title=title,
        meta={"file": path.name, "pickup_beats": pickup},
    )


def _four_voices(score: stream.Score) -> list[stream.Part]:
    """Soprano, alto, tenor, bass: by part name when a cantata score adds instruments
    (which double the voices or play between phrases), else four parts in score order."""
    parts = list(score.parts)
    named: dict[str, list[stream.Part]] = defaultdict(list)
    for part in parts:
        words = (part.partName or "").lower().split()
        if words and words[0] in VOICES:
            named[words[0]].append(part)
    if all(len(named[voice]) == 1 for voice in VOICES):
        return [named[voice][0] for voice in VOICES]
    if len(parts) == 4:
        return parts
    names = ", ".join(str(part.partName) for part in parts)
    raise _Unusable(f"{len(parts)} parts ({names}), not four voices soprano/alto/tenor/bass")


def _tones(part: stream.Part) -> list[Tone]:
    """The part's notes (every pitch of a chord), ties merged, grace notes dropped.

    Merged by hand: music21's ``stripTies`` costs more than the rest of the reading."""
    tones: list[Tone] = []
    open_ties: dict[int, int] = {}  # pitch -> index in tones of a note whose tie goes on
    for element in part.flatten().notes:
        if element.duration.isGrace or element.quarterLength <= 0:
            continue
        onset = float(element.offset)
        end = onset + float(element.quarterLength)
        for note in getattr(element, "notes", None) or [element]:
            pitch = note.pitch.midi
            tie = note.tie.type if note.tie is not None else None
            held = open_ties.pop(pitch, None)
            if held is not None and tie in ("stop", "continue") and tones[held].end == onset:
                tones[held] = Tone(tones[held].onset, end, pitch)
                index = held
            else:
                tones.append(Tone(onset, end, pitch))
                index = len(tones) - 1
            if tie in ("start", "continue"):
                open_ties[pitch] = index
    return sorted(tones, key=lambda t: (t.onset, -t.pitch))


def _melody(tones: Sequence[Tone]) -> list[Note]:
    """Monophonic soprano: the highest note at each onset, cut where the next begins."""
    onsets: dict[float, Tone] = {}
    for tone in tones:  # sorted by onset, highest pitch first
        onsets.setdefault(tone.onset, tone)
    ordered = list(onsets.values())
    notes = []
    for index, tone in enumerate(ordered):
        end = min(tone.end, ordered[index + 1].onset) if index + 1 < len(ordered) else tone.end
        notes.append(Note(onset=tone.onset, duration=end - tone.onset, pitch=tone.pitch))
    return notes


def _key_name(voices: Sequence[Sequence[Tone]]) -> str:
    """Estimated key as ``"<tonic> major|minor"``: the Aarden-Essen key profile (music21's
    default) best correlated with the voices' duration-weighted pitch classes.

    Estimated rather than read from the key signature: chorales are often written one
    flat short (Dorian notation) and their encoded mode is unreliable; over music21's
    chorales the estimate matches the final bass note more often than the written key
    does. Computed here because ``Score.analyze("key")`` costs more than the rest of the
    reading together."""
    histogram = np.zeros(12)
    for tones in voices:
        for tone in tones:
            histogram[tone.pitch % 12] += tone.end - tone.onset
    scores = {
        (tonic, mode): np.corrcoef(histogram, np.roll(profile, tonic))[0, 1]
        for mode, profile in _KEY_PROFILES.items() for tonic in range(12)
    }
    tonic, mode = max(scores, key=scores.__getitem__)
    return f"{PITCH_CLASS_NAMES[tonic]} {mode}"


def beat_chords(voices: Sequence[Sequence[Tone]]) -> list[ChordSpan]:
    """Beat-level harmonic reduction of ``voices`` (top to bottom; the last is the bass),
    by the rules in the module docstring."""
    spans: list[ChordSpan] = []
    end = max((t.end for tones in voices for t in tones), default=0.0)
    previous: Chord | None = None
    for beat in range(math.ceil(end)):
        sounding = [[t for t in tones if t.onset < beat + 1 and t.end > beat] for tones in voices]
        if not any(sounding):
            previous = None
            continue
        chord = _name_beat(beat, sounding, voices) or previous
        previous = chord
        if chord is None:
            continue
        start = max(beat, min(t.onset for tones in sounding for t in tones))
        stop = min(beat + 1, max(t.end for tones in sounding for t in tones))
        if spans and spans[-1].chord == chord and spans[-1].end == start:
            spans[-1] = ChordSpan(spans[-1].onset, stop - spans[-1].onset, chord)
        else:
            spans.append(ChordSpan(start, stop - start, chord))
    return spans


def _name_beat(
    beat: int, sounding: Sequence[Sequence[Tone]], voices: Sequence[Sequence[Tone]],
) -> Chord | None:
    """The chord of one beat, or None when the fallback rule applies."""
    at_onset = [[t for t in tones if t.onset <= beat] for tones in sounding]
    bass_tones = at_onset[-1] or sounding[-1] or [t for tones in at_onset for t in tones]
    bass = min(t.pitch for t in bass_tones) if bass_tones else None
    weights: dict[int, float] = defaultdict(float)
    for voice, tones in enumerate(sounding):
        is_bass = voice == len(sounding) - 1
        for tone in tones:
            weight = min(tone.end, beat + 1) - max(tone.onset, beat)
            if tone.onset <= beat:
                weight = (weight + ONSET_WEIGHT) * (BASS_WEIGHT if is_bass else 1.0)
            pitch = tone.pitch
            if not is_bass and bass is not None:
                pitch = _resolution(tone, beat, bass, voices[voice], voices[-1]) or pitch
            weights[pitch % 12] += weight
    strong = {pc: w for pc, w in weights.items() if w >= MIN_TONE_WEIGHT}
    if len(strong) < 2:
        return None
    mean = sum(strong.values()) / len(strong)
    chord = chord_from_pitch_classes(
        strong, bass=None if bass is None else bass % 12,
        weights={pc: w / mean for pc, w in strong.items()},
    )
    explained = sum(w for pc, w in weights.items() if pc in chord.pitch_classes)
    if explained < MIN_EXPLAINED * sum(weights.values()):
        return None
    if chord.quality in _SIXTH_AS_SEVENTH:  # same pitch classes, Bach's reading of them
        bass_pc = chord.root if chord.bass is None else chord.bass
        chord = Chord((chord.root + 9) % 12, _SIXTH_AS_SEVENTH[chord.quality], bass_pc)
    return chord


def _resolution(
    tone: Tone, beat: int, bass: int, tones: Sequence[Tone], bass_tones: Sequence[Tone],
) -> int | None:
    """The pitch a suspension resolves to, if ``tone`` is one in this beat: held into the
    beat, dissonant with the bass, and stepping down by the beat's end while the bass
    stays (a chord seventh also resolves down, but the bass moves with it)."""
    if not (tone.onset < beat < tone.end <= beat + 1):
        return None
    if (tone.pitch - bass) % 12 not in _DISSONANT_ABOVE_BASS:
        return None
    if not any(b.onset <= tone.end < b.end and b.pitch == bass for b in bass_tones):
        return None
    for after in tones:
        if after.onset == tone.end and 1 <= tone.pitch - after.pitch <= 2:
            return after.pitch
    return None
