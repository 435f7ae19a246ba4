"""Token files: a song's melody and chord token rows with the vocabulary that reads them.

A token file is JSON: ``{"song_id", "time_signature", "vocab": TokenSpec dict,
"melody": [ids], "chords": [ids]}`` — self-contained, so ``cojam export-midi`` can turn
it into MIDI without the cache it came from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from cojam.data.tokens import TokenSpec, frames_to_song
from cojam.music.song import Song


def save_tokens(
    path: Path,
    spec: TokenSpec,
    melody: Sequence[int],
    chords: Sequence[int],
    song_id: str,
    time_signature: tuple[int, int] = (4, 4),
) -> Path:
    if len(melody) != len(chords):
        raise ValueError(f"{path}: melody has {len(melody)} frames, chords {len(chords)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "song_id": song_id,
                "time_signature": list(time_signature),
                "vocab": spec.to_dict(),
                "melody": [int(t) for t in melody],
                "chords": [int(t) for t in chords],
            }
        )
        + "\n"
    )
    return path


def load_tokens(path: Path, strict: bool = False) -> Song:
    """A token file as a Song. With ``strict`` False a hold that continues nothing starts a
    new note or chord (model output may contain such holds)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        spec = TokenSpec.from_dict(data["vocab"])
        melody, chords = data["melody"], data["chords"]
        song_id = data.get("song_id", path.stem)
        time_signature = tuple(data.get("time_signature", (4, 4)))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a cojam token file ({type(e).__name__}: {e})") from e
    return frames_to_song(
        melody,
        chords,
        spec,
        song_id=song_id,
        source="tokens",
        time_signature=time_signature,
        strict=strict,
    )
