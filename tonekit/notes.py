"""What tonekit warns of in a call's audio, as templates: one text on the command line, in the reports' notes on
the audio and in the JSON report's ``warnings``, which :mod:`tonekit.report._lang` reads back to say in French.

Each template's fields are strings, numbers already formatted; ``side`` and ``other`` are ``agent`` or
``caller``, ``what`` is ``audio`` or ``channel N``.

>>> note("clipped", path="call.wav", what="channel 1", percent="0.15")
'call.wav: channel 1 is slightly clipped (0.15 % of samples at full scale)'
"""
from __future__ import annotations

import functools
import re

NOTES = {
    "dc_offset": "{path}: {what} carries a DC offset of {dc} ({dbfs} dBFS): taken off before analysis",
    "tones": "{path}: steady tones, not speech, on the {side}'s side ({what}) at {spans} (ringback, busy or dial "
             "tone?): left out of the {side}'s speech",
    "keys": "{path}: key tones (DTMF), not speech, on the {side}'s side ({what}) at {spans} (keypad presses?): "
            "left out of the {side}'s speech",
    "music": "{path}: steady sound, not speech, on the {side}'s side ({what}) at {spans} (music on hold?): left out "
             "of the {side}'s speech",
    "hum": "{path}: mains hum or rumble on the {side}'s side ({what}): its noise is {db} dB quieter above {hz} Hz, "
           "where its speech is looked for",
    "hum_mix": "{path}: mains hum or rumble in the mix ({what}): its noise is {db} dB quieter above {hz} Hz, where "
               "its speech is looked for",
    "echo": "{path}: the {other}'s voice comes back on the {side}'s side ({what}) {ms} ms later, {db} dB down (line "
            "echo): left out of the {side}'s speech",
    "clipped": "{path}: {what} is slightly clipped ({percent} % of samples at full scale)",
    "short_file": "{path}: the {side}'s file lasts {seconds} s, the {other}'s {other_seconds} s: the {side}'s side "
                  "is silent from {time} on",
    "rates": "{path}: the {side}'s file is at {hz} Hz, the {other}'s at {other_hz} Hz: both are analysed at {rate} "
             "Hz",
    "turns": "{path}: turns run to {seconds} s but {name} lasts {duration} s (the turns of another recording?)",
    "no_speech": "{path}: no speech found for the {side} ({what}); their tone cannot be scored (a window needs "
                 "{need} s)",
    "little_speech": "{path}: only {seconds} s of speech found for the {side} ({what}); their tone cannot be scored "
                     "(a window needs {need} s)",
    "noisy": "{path}: the {side}'s speech ({what}) stands only {db} dB over the noise, less than in anything the "
             "tone models learned from ({need} dB or more): their tone scores are less reliable",
    "no_reference": "{path}: too little speech for the {side} ({what}) to read their tone against their usual voice "
                    "in the call: it fills {count} separate {window}-s {windows} ({need} s of speech each) of the "
                    "{reference} it takes; their tone is not scored",
    "no_population": "the model card has no {missing} (an older or hand-made model): each speaker is read against "
                     "their own voice alone (population_share=0)",
    "no_pulses": "Praat glottal pulse analysis failed ({error}): jitter and shimmer are not measured there",
}


def note(key: str, **values) -> str:
    """The warning ``key`` of :data:`NOTES` with its fields filled in."""
    return NOTES[key].format(**values)


def pattern(template: str) -> re.Pattern:
    """A regular expression that reads a template's fields back out of its text (a field used twice must hold
    the same text twice)."""
    out, seen, pos = [], set(), 0
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        name = m.group(1)
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out), re.S)


@functools.lru_cache(maxsize=None)
def _patterns(templates: tuple) -> tuple:
    return tuple((key, pattern(template)) for key, template in templates)


def parse(text: str, templates: dict = NOTES) -> tuple[str, dict] | None:
    """``(key, fields)`` of a text written from one of ``templates`` (a warning of :data:`NOTES` by default; the
    matcher's evidence, :data:`tonekit.match.EVIDENCE`), or None for any other text.

    >>> parse("call.wav: channel 1 is slightly clipped (0.15 % of samples at full scale)")
    ('clipped', {'path': 'call.wav', 'what': 'channel 1', 'percent': '0.15'})
    """
    for key, compiled in _patterns(tuple(templates.items())):
        m = compiled.fullmatch(text)
        if m:
            return key, m.groupdict()
    return None


__all__ = ["NOTES", "note", "parse", "pattern"]
