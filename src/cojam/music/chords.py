"""The chord vocabulary: root (12 pitch classes) x quality, with an optional bass note.

Every chord has one canonical text form (``Am7``, ``F#m7b5``, ``C/E``) and a set of pitch
classes. ``parse_chord`` maps the chord spellings of every source we read (lead-sheet
text such as ``Am/c`` or ``Bbmaj7``, Harte labels such as ``C:min7`` or ``A:maj/3``,
MusicXML ``<kind>`` values) onto the vocabulary, and raises ``ChordError`` naming the
spelling and the reason when it cannot. ``chord_from_pitch_classes`` names a set of
sounding pitch classes (used for harmonic reduction of polyphony). Nothing falls back
silently to C major.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# quality -> (canonical suffix, intervals above the root). Order is the vocabulary order.
QUALITIES: dict[str, tuple[str, tuple[int, ...]]] = {
    "maj": ("", (0, 4, 7)),
    "min": ("m", (0, 3, 7)),
    "dim": ("dim", (0, 3, 6)),
    "aug": ("aug", (0, 4, 8)),
    "sus2": ("sus2", (0, 2, 7)),
    "sus4": ("sus4", (0, 5, 7)),
    "7": ("7", (0, 4, 7, 10)),
    "maj7": ("maj7", (0, 4, 7, 11)),
    "m7": ("m7", (0, 3, 7, 10)),
    "m7b5": ("m7b5", (0, 3, 6, 10)),
    "dim7": ("dim7", (0, 3, 6, 9)),
    "6": ("6", (0, 4, 7, 9)),
    "m6": ("m6", (0, 3, 7, 9)),
}
QUALITY_NAMES = tuple(QUALITIES)
_SUFFIX_TO_QUALITY = {suffix: q for q, (suffix, _) in QUALITIES.items()}

NO_CHORD = "N"  # text form of a span with no chord


class ChordError(ValueError):
    """A chord spelling that cannot be mapped to the vocabulary."""

    def __init__(self, spelling: str, reason: str):
        super().__init__(f"cannot map chord {spelling!r}: {reason}")
        self.spelling = spelling
        self.reason = reason


@dataclass(frozen=True, order=True)
class Chord:
    """A vocabulary chord: ``root`` and ``bass`` are pitch classes 0-11 (bass None = root)."""

    root: int
    quality: str = "maj"
    bass: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.root < 12:
            raise ValueError(f"chord root must be a pitch class 0-11, got {self.root}")
        if self.quality not in QUALITIES:
            raise ValueError(f"unknown chord quality {self.quality!r}; known: {QUALITY_NAMES}")
        if self.bass is not None:
            if not 0 <= self.bass < 12:
                raise ValueError(f"chord bass must be a pitch class 0-11, got {self.bass}")
            if self.bass == self.root:
                object.__setattr__(self, "bass", None)

    @property
    def symbol(self) -> str:
        text = PITCH_CLASS_NAMES[self.root] + QUALITIES[self.quality][0]
        if self.bass is not None:
            text += "/" + PITCH_CLASS_NAMES[self.bass]
        return text

    @property
    def pitch_classes(self) -> frozenset[int]:
        """Sounding pitch classes, the bass included."""
        pcs = {(self.root + i) % 12 for i in QUALITIES[self.quality][1]}
        if self.bass is not None:
            pcs.add(self.bass)
        return frozenset(pcs)

    def transpose(self, semitones: int) -> Chord:
        bass = None if self.bass is None else (self.bass + semitones) % 12
        return Chord((self.root + semitones) % 12, self.quality, bass)

    def without_bass(self) -> Chord:
        return Chord(self.root, self.quality)

    def __str__(self) -> str:
        return self.symbol

    def __repr__(self) -> str:
        return f"Chord({self.symbol})"


def all_chords(with_bass: bool = False) -> list[Chord]:
    """Every vocabulary entry: 12 roots x 13 qualities, and with ``with_bass`` every bass."""
    chords = []
    for root in range(12):
        for quality in QUALITY_NAMES:
            chords.append(Chord(root, quality))
            if with_bass:
                chords.extend(Chord(root, quality, b) for b in range(12) if b != root)
    return chords


# ---------------------------------------------------------------------------- parsing

_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ROOT_RE = re.compile(r"^([A-Ga-g])([#b♯♭]*)")


def _parse_pitch_name(text: str, spelling: str) -> tuple[int, str]:
    """Leading note name (``Bb``, ``f#``) -> (pitch class, rest of the text)."""
    match = _ROOT_RE.match(text)
    if not match:
        raise ChordError(spelling, f"no note name at {text!r}")
    pc = _LETTER_PC[match.group(1).upper()]
    for accidental in match.group(2):
        pc += 1 if accidental in "#♯" else -1
    return pc % 12, text[match.end() :]


# Lead-sheet quality suffixes (after the root), longest first when matching. Extensions
# reduce to the seventh chord or triad they extend: C9 -> C7, Cmaj9 -> Cmaj7, Cadd9 -> C.
_TEXT_QUALITIES: dict[str, str] = {
    "": "maj",
    "maj": "maj",
    "M": "maj",
    "major": "maj",
    "add9": "maj",
    "add2": "maj",
    "(add9)": "maj",
    "69": "6",
    "6/9": "6",
    "6": "6",
    "maj6": "6",
    "M6": "6",
    "m": "min",
    "min": "min",
    "mi": "min",
    "-": "min",
    "minor": "min",
    "madd9": "min",
    "m(add9)": "min",
    "m69": "m6",
    "m6/9": "m6",
    "m6": "m6",
    "min6": "m6",
    "-6": "m6",
    "dim": "dim",
    "o": "dim",
    "°": "dim",
    "mb5": "dim",
    "m(b5)": "dim",
    "aug": "aug",
    "+": "aug",
    "#5": "aug",
    "(#5)": "aug",
    "sus2": "sus2",
    "sus4": "sus4",
    "sus": "sus4",
    "7sus4": "sus4",
    "7sus": "sus4",
    "7sus2": "sus2",
    "9sus4": "sus4",
    "sus9": "sus2",
    "7": "7",
    "9": "7",
    "11": "7",
    "13": "7",
    "7b9": "7",
    "7#9": "7",
    "7b5": "7",
    "7#11": "7",
    "7b13": "7",
    "dom7": "7",
    "7(b9)": "7",
    "7(#9)": "7",
    "9b5": "7",
    "aug7": "7",
    "+7": "7",
    "7#5": "7",
    "7+": "7",
    "maj7": "maj7",
    "M7": "maj7",
    "Maj7": "maj7",
    "ma7": "maj7",
    "^7": "maj7",
    "^": "maj7",
    "Δ": "maj7",
    "Δ7": "maj7",
    "maj9": "maj7",
    "M9": "maj7",
    "maj11": "maj7",
    "maj13": "maj7",
    "maj7#11": "maj7",
    "m7": "m7",
    "min7": "m7",
    "mi7": "m7",
    "-7": "m7",
    "m9": "m7",
    "min9": "m7",
    "m11": "m7",
    "m13": "m7",
    "-9": "m7",
    "m7b5": "m7b5",
    "m7(b5)": "m7b5",
    "ø": "m7b5",
    "ø7": "m7b5",
    "-7b5": "m7b5",
    "min7b5": "m7b5",
    "hdim": "m7b5",
    "hdim7": "m7b5",
    "dim7": "dim7",
    "o7": "dim7",
    "°7": "dim7",
    "mmaj7": "min",
    "mM7": "min",
    "m(maj7)": "min",
    "minmaj7": "min",
}

# Harte (Isophonics / POP909) shorthands.
_HARTE_QUALITIES: dict[str, str] = {
    "maj": "maj",
    "min": "min",
    "dim": "dim",
    "aug": "aug",
    "sus2": "sus2",
    "sus4": "sus4",
    "7": "7",
    "maj7": "maj7",
    "min7": "m7",
    "hdim7": "m7b5",
    "dim7": "dim7",
    "maj6": "6",
    "min6": "m6",
    "9": "7",
    "maj9": "maj7",
    "min9": "m7",
    "11": "7",
    "13": "7",
    "min11": "m7",
    "maj11": "maj7",
    "min13": "m7",
    "maj13": "maj7",
    "minmaj7": "min",
    "5": "power",
    "1": "single",
    "sus4(b7)": "sus4",
    "sus4(b7,9)": "sus4",
}

# Harte bass degrees -> semitones above the root.
_DEGREES = {"1": 0, "2": 2, "3": 4, "4": 5, "5": 7, "6": 9, "7": 11, "9": 2, "11": 5, "13": 9}

# MusicXML <kind> values.
MUSICXML_KINDS: dict[str, str] = {
    "major": "maj",
    "minor": "min",
    "augmented": "aug",
    "diminished": "dim",
    "dominant": "7",
    "major-seventh": "maj7",
    "minor-seventh": "m7",
    "diminished-seventh": "dim7",
    "augmented-seventh": "7",
    "half-diminished": "m7b5",
    "major-minor": "min",
    "major-sixth": "6",
    "minor-sixth": "m6",
    "dominant-ninth": "7",
    "major-ninth": "maj7",
    "minor-ninth": "m7",
    "dominant-11th": "7",
    "major-11th": "maj7",
    "minor-11th": "m7",
    "dominant-13th": "7",
    "major-13th": "maj7",
    "minor-13th": "m7",
    "suspended-second": "sus2",
    "suspended-fourth": "sus4",
    "dominant-seventh": "7",
    "augmented-ninth": "7",
    "Neapolitan": "maj",
}


def _degree_interval(degree: str, spelling: str) -> int:
    match = re.fullmatch(r"([b#]*)(\d+)", degree)
    if not match or match.group(2) not in _DEGREES:
        raise ChordError(spelling, f"unknown bass degree {degree!r}")
    shift = sum(1 if c == "#" else -1 for c in match.group(1))
    return _DEGREES[match.group(2)] + shift


def _parse_harte(spelling: str) -> Chord | None:
    text = spelling.strip()
    root_text, _, rest = text.partition(":")
    root, extra = _parse_pitch_name(root_text, spelling)
    if extra:
        raise ChordError(spelling, f"unexpected {extra!r} after the root")
    shorthand, _, bass_text = rest.partition("/")
    shorthand = shorthand or "maj"
    if shorthand.startswith("("):
        return chord_from_pitch_classes(
            {root}
            | {
                (root + _degree_interval(d.strip("*"), spelling)) % 12
                for d in shorthand.strip("()").split(",")
                if not d.startswith("*")
            },
            bass=None,
            spelling=spelling,
        )
    base = re.sub(r"\(.*\)$", "", shorthand)
    quality = _HARTE_QUALITIES.get(shorthand) or _HARTE_QUALITIES.get(base)
    if quality is None:
        raise ChordError(spelling, f"unknown Harte shorthand {shorthand!r}")
    if quality in ("power", "single"):
        raise ChordError(spelling, "a power chord or single note has no third to name it")
    bass = None
    if bass_text:
        bass = (root + _degree_interval(bass_text, spelling)) % 12
    return Chord(root, quality, bass)


def parse_chord(spelling: str) -> Chord | None:
    """Map a chord spelling to the vocabulary; ``None`` means no chord (``N``, ``NC``).

    Accepts lead-sheet text (``Am/c``, ``F#m7b5``, ``Bbmaj7``, ``C-7``, ``G7/B``), Harte
    labels (``C:min7``, ``A:maj/3``, ``N``) and canonical symbols. Raises ``ChordError``.
    """
    text = spelling.strip()
    if text in ("N", "NC", "N.C.", "N.C", "X", "n.c.", ""):
        return None
    if ":" in text:
        return _parse_harte(text)
    root, rest = _parse_pitch_name(text, spelling)
    body, slash, bass_text = rest.partition("/")
    if slash and bass_text in ("9",):  # 6/9 is a quality, not a bass
        body, bass_text, slash = rest, "", ""
    quality = _TEXT_QUALITIES.get(body)
    if quality is None:
        quality = _TEXT_QUALITIES.get(body.replace("(", "").replace(")", ""))
    if quality is None:
        raise ChordError(spelling, f"unknown chord quality {body!r}")
    bass = None
    if slash:
        bass, leftover = _parse_pitch_name(bass_text, spelling)
        if leftover:
            raise ChordError(spelling, f"unexpected {leftover!r} after the bass note")
    return Chord(root, quality, bass)


def parse_musicxml_harmony(
    root_step: str,
    root_alter: float,
    kind: str,
    bass_step: str | None = None,
    bass_alter: float = 0.0,
) -> Chord | None:
    """A MusicXML ``<harmony>`` (root-step, root-alter, kind, bass) to the vocabulary."""
    spelling = f"{root_step}{'#' * int(root_alter) if root_alter > 0 else 'b' * int(-root_alter)}"
    spelling += f" kind={kind!r}"
    if kind == "none":
        return None
    quality = MUSICXML_KINDS.get(kind)
    if quality is None:
        raise ChordError(spelling, f"unknown or unsupported MusicXML harmony kind {kind!r}")
    if root_step.upper() not in _LETTER_PC:
        raise ChordError(spelling, f"bad root-step {root_step!r}")
    root = (_LETTER_PC[root_step.upper()] + round(root_alter)) % 12
    bass = None
    if bass_step:
        if bass_step.upper() not in _LETTER_PC:
            raise ChordError(spelling, f"bad bass-step {bass_step!r}")
        bass = (_LETTER_PC[bass_step.upper()] + round(bass_alter)) % 12
    return Chord(root, quality, bass)


# ------------------------------------------------------------ naming sounding pitch sets

# Preference when templates tie: plain triads first, then sevenths, then the rest.
_TIE_ORDER = {
    q: i
    for i, q in enumerate(
        ("maj", "min", "7", "dim", "m7", "maj7", "m7b5", "dim7", "sus4", "aug", "sus2", "6", "m6")
    )
}

# Every vocabulary chord as (root, quality, its pitch classes sorted, its perfect fifth or
# None), built once: naming runs per beat of every song a reader reduces.
_TEMPLATES = tuple(
    (root, quality, tuple(sorted({(root + i) % 12 for i in intervals})),
     (root + 7) % 12 if 7 in intervals else None)
    for root in range(12)
    for quality, (_, intervals) in QUALITIES.items()
)


def chord_from_pitch_classes(
    pitch_classes: Iterable[int],
    bass: int | None = None,
    spelling: str | None = None,
    weights: dict[int, float] | None = None,
) -> Chord:
    """Name a set of sounding pitch classes with the best-matching vocabulary chord.

    Each candidate chord scores the (weighted) pitch classes it explains minus those it
    lacks and those sounding outside it; ties prefer a root equal to the bass, then simpler
    qualities. The bass becomes an inversion only when it is a chord tone other than the
    root. Raises ``ChordError`` for fewer than two distinct pitch classes.
    """
    pcs = {p % 12 for p in pitch_classes}
    label = spelling if spelling is not None else "pitch classes " + str(sorted(pcs))
    if len(pcs) < 2:
        raise ChordError(label, "fewer than two distinct pitch classes cannot name a chord")
    w = {p: (weights or {}).get(p, 1.0) for p in pcs}
    total = sum(w.values())
    best: tuple[tuple[float, int, int], Chord] | None = None
    for root, quality, tones, fifth in _TEMPLATES:
        explained = sum(w[p] for p in tones if p in w)
        missing = sum(1.0 for p in tones if p not in w)
        # A missing fifth is common and harmless; a missing third is not.
        if fifth is not None and fifth not in w:
            missing -= 0.5
        # rounded so that equal scores summed in another order tie, as they should
        score = round(explained - 1.5 * (total - explained) - 0.75 * missing, 9)
        key = (score, int(bass is not None and root == bass), -_TIE_ORDER[quality])
        if best is None or key > best[0]:
            best = (key, Chord(root, quality))
    assert best is not None
    chord = best[1]
    if bass is not None and bass % 12 in chord.pitch_classes:
        chord = Chord(chord.root, chord.quality, bass % 12)
    return chord
