"""The language the text and HTML reports and the plot speak: English (the default) or French.

The reports write every phrase in English through :func:`t`, which looks it up in the French catalogue when the
report is rendered in French (:func:`language`). Numbers follow the language too (:func:`decimal`: ``0,69`` in
French). The tables, the JSON report and the exports keep their English keys and kinds in every language: they
are data, read by programs. The notes on the audio (the analysis's warnings, :mod:`tonekit.notes`) are said in French
too; a warning written otherwise stays English.

>>> with language("fr"):
...     t("tip {tip}", tip=8)
'conseil 8'
>>> t("tip {tip}", tip=8)
'tip 8'
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar

from ..errors import ParameterError

#: The languages the reports are written in.
LANGUAGES = ("en", "fr")

_current: ContextVar[str] = ContextVar("tonekit_report_language", default="en")


@contextmanager
def language(lang: str | None):
    """Render the reports inside the ``with`` block in ``lang`` (one of :data:`LANGUAGES`; None: the language
    already in force, English outside any such block)."""
    lang = _current.get() if lang is None else checked(lang)
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


def checked(lang) -> str:
    """``lang`` when it is one of :data:`LANGUAGES`; else :class:`~tonekit.errors.ParameterError`."""
    if lang not in LANGUAGES:
        raise ParameterError(f"report language must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    return lang


def current() -> str:
    """The language reports are being rendered in."""
    return _current.get()


def t(text: str, *, key: str | None = None, **values) -> str:
    """``text`` (an English phrase, a :meth:`str.format` template when ``values`` are given) in the current
    language; a phrase the catalogue lacks stays English. ``key``: the catalogue's entry, where one English
    word needs different words in another language by where it stands."""
    if _current.get() == "fr":
        text = FR.get(key or text, text)
    return text.format(**values) if values else text


def decimal(formatted: str) -> str:
    """A number formatted the English way, in the current language (``"0.69"`` -> ``"0,69"`` in French)."""
    return formatted.replace(".", ",") if _current.get() == "fr" else formatted


def speaker_name(speaker: str) -> str:
    """``agent``, ``caller`` (or ``none``, an event of nobody's) as the reports name them."""
    return t(speaker) if speaker in ("agent", "caller", "none") else speaker


#: The French catalogue: English phrase -> French phrase, the same placeholders.
FR = {
    # speakers
    "agent": "secrétaire", "caller": "appelant", "none": "personne",
    # the guide's tips: (title, advice)
    "tip {tip}": "conseil {tip}",
    "tips {tips}": "conseils {tips}",
    "Don't interrupt": "Ne pas interrompre",
    "let the caller finish before you answer": "laissez l'appelant finir avant de répondre",
    "Smile": "Sourire",
    "a smile can be heard: keep your voice bright and friendly": "un sourire s'entend : gardez une voix claire "
                                                                 "et aimable",
    "Stay calm": "Rester calme",
    "keep a calm, even voice, even when the caller is not": "gardez une voix calme et posée, même quand l'appelant "
                                                            "ne l'est pas",
    "Adapt your tone": "Adapter son ton",
    "match the caller's mood instead of sounding upbeat to an upset caller": "accordez-vous à l'humeur de "
                                                                             "l'appelant au lieu d'adopter un ton "
                                                                             "enjoué face à un appelant contrarié",
    "Avoid hold": "Éviter l'attente",
    "avoid long silences and holds; say what you are doing": "évitez les longs silences et les mises en attente ; "
                                                              "dites ce que vous faites",
    # event kinds
    "talked over the caller": "a parlé en même temps que l'appelant",
    "no smile heard": "aucun sourire entendu",
    "sounded angry back": "a répondu sur un ton irrité",
    "raised voice with the caller": "a haussé le ton avec l'appelant",
    "upbeat to an angry caller": "ton enjoué face à un appelant en colère",
    "long silence": "long silence",
    # tone curves
    "Caller anger": "Colère de l'appelant", "Agent calm": "Calme de la secrétaire",
    "Agent warmth": "Chaleur de la secrétaire", "Agent anger": "Colère de la secrétaire",
    "anger": "colère", "calm": "calme", "warmth": "chaleur",
    "extreme peak": "pic", "extreme low": "au plus bas",
    "{percent}%": "{percent} %",
    # (how a curve went: said of the caller, "l'appelant", or in words that fit any agent)
    "grew angrier": "de plus en plus en colère", "calmed down": "s'est calmé",
    "flared up, then calmed down": "s'est emporté, puis calmé",
    "grew calmer": "de plus en plus calme", "grew less calm": "de moins en moins calme",
    "lost calm, then found it again": "a perdu son calme, puis l'a retrouvé",
    "warmed up": "a gagné en chaleur", "cooled down": "a perdu en chaleur",
    "cooled, then warmed up again": "a perdu en chaleur, puis en a regagné",
    "{level} at both ends, {way} {value} at {time} between": "niveau {level} aux deux bouts, {way} {value} à "
                                                             "{time} entre les deux",
    "high": "élevé", "low": "bas", "down to": "descendu à", "up to": "monté à",
    "stayed high": "niveau resté élevé", "stayed low": "niveau resté bas",
    "n/a": "n.d.",
    "{label}: n/a (too little speech to score)": "{label} : n.d. (trop peu de parole pour l'évaluer)",
    "{label}: {start} at the start, {extreme} {value} at {time}, {end} at the end — {trend}":
        "{label} : {start} au début, {extreme} {value} à {time}, {end} à la fin — {trend}",
    # what to work on, in short
    "once": "une fois", "{count} times": "{count} fois",
    "Tip {tip} — {title}: {advice} ({what}: {times}).": "Conseil {tip} — {title} : {advice} ({what}, à {times}).",
    "Nothing to work on: no interruptions, missing smiles, loss of calm, tone mismatches or long holds were found.":
        "Rien à travailler : ni interruption, ni sourire absent, ni perte de calme, ni ton décalé, ni longue "
        "attente.",
    "The agent's tone could not be scored (too little speech), so tips 7, 8 and 9 (smile, calm, tone) were not "
    "judged.": "Le ton de la secrétaire n'a pas pu être évalué (trop peu de parole) : les conseils 7, 8 et 9 "
               "(sourire, calme, ton) n'ont pas été jugés.",
    "The caller's tone could not be scored (too little speech), so tips 8 and 9, judged against the caller's "
    "anger, were not judged.": "Le ton de l'appelant n'a pas pu être évalué (trop peu de parole) : les conseils "
                               "8 et 9, jugés d'après sa colère, n'ont pas été jugés.",
    "No interruptions or long holds were found.": "Ni interruption, ni longue attente.",
    "No interruptions, missing smiles or long holds were found.": "Ni interruption, ni sourire absent, ni longue "
                                                                  "attente.",
    "Caller's tone not scored (too little speech).": "Ton de l'appelant non évalué (trop peu de parole).",
    "; {trend} by the end": " ; {trend} à la fin",
    "Caller angry {spans} ({seconds} s){end}.": "Appelant en colère {spans} ({seconds} s){end}.",
    "Caller not heard as angry.": "Appelant jamais entendu en colère.",
    "{when} ({tips})": "{when} ({tips})",
    " and ": " et ", " or ": " ou ",
    "Listen back to {moments}.": "À réécouter : {moments}.",
    "No moment to listen back to: no event found.": "Rien à réécouter : aucun événement.",
    "No event of {tips}.": "Aucun événement pour {tips}.", "; ": " ; ",
    "clean tip": "le {tip} ({title})",
    "{target} slope {slope}, intercept {intercept}": "{target} pente {slope}, ordonnée {intercept}",
    # the text report
    "tonekit report: {source}": "rapport tonekit : {source}",
    "Call length {clock} ({seconds})": "Durée de l'appel {clock} ({seconds})",
    "{speaker} {clock} ({seconds}, {share})": "{speaker} {clock} ({seconds}, {share})",
    "pauses {clock} ({seconds}, {share})": "pauses {clock} ({seconds}, {share})",
    "Talk time: {talk}": "Temps de parole : {talk}",
    "Overlaps {count} ({seconds}), interruptions {interruptions}, long silences {silences} ({long} or more; "
    "longest pause {longest})": "Chevauchements {count} ({seconds}), interruptions {interruptions}, longs silences "
                                "{silences} ({long} ou plus ; plus longue pause {longest})",
    "Models recalibrated for this population (tonekit recalibrate): {recal}":
        "Modèles recalibrés pour cette population (tonekit recalibrate) : {recal}",
    "In short": "En bref",
    "Tone over the call": "Le ton au fil de l'appel",
    "Events ({count})": "Événements ({count})",
    "What to work on": "À travailler",
    "Entrainment (agent and caller)": "Synchronisation (secrétaire et appelant)",
    "(higher: closer in level, growing closer over the call, rising and falling together)":
        "(plus haut : niveaux plus proches, qui se rapprochent au fil de l'appel, montent et descendent ensemble)",
    "{name}: proximity {proximity}, convergence {convergence}, synchrony {synchrony}":
        "{name} : proximité {proximity}, convergence {convergence}, synchronie {synchrony}",
    "pitch": "hauteur", "loudness": "intensité", "speaking rate": "débit",
    "{times}  tip {tip}  {kind} ({speaker}, severity {severity})":
        "{times}  conseil {tip}  {kind} ({speaker}, gravité {severity})",
    "no events": "aucun", "{line}: {evidence}": "{line} : {evidence}",
    "Notes on the audio": "Remarques sur l'audio",
    # the HTML report
    "Tone report": "Rapport de ton",
    "Tone report: {source}": "Rapport de ton : {source}",
    "Source": "Source", "Duration": "Durée", "Speakers": "Interlocuteurs", "tonekit version": "Version de tonekit",
    "Tone curves over the call ({names}), speech bars and events shaded. {stories}. {moments}":
        "Courbes de ton au fil de l'appel ({names}), barres de parole et événements ombrés. {stories}. {moments}",
    "Scores at the centre of each analysis window (0 = not at all, 1 = clearly). Bars below: who speaks when. "
    "Shaded, hatched stretches: events, labelled by tip.":
        "Scores au centre de chaque fenêtre d'analyse (0 = pas du tout, 1 = nettement). Barres du bas : qui parle "
        "quand. Passages ombrés et hachurés : événements, marqués par conseil.",
    "Time": "Moment", "Tip": "Conseil", "Kind": "Type", "Speaker": "Interlocuteur", "Severity": "Gravité",
    "Evidence": "Indices",
    "No events found, but not every tip could be judged (What to work on).":
        "Aucun événement, mais tous les conseils n'ont pas pu être jugés (À travailler).",
    "No events.": "Aucun événement.",
    "Talk time": "Temps de parole", "Talk share": "Part de parole", "Median pitch": "Hauteur médiane",
    "Median intensity": "Intensité médiane", "Speaking rate": "Débit", "Mean anger": "Colère moyenne",
    "Mean calm": "Calme moyen", "Mean warmth": "Chaleur moyenne", "Measure": "Mesure",
    "syl/s": "syl/s",
    "Overlaps": "Chevauchements", "Interruptions": "Interruptions", "Long silences": "Longs silences",
    "Longest pause": "Plus longue pause", "Pauses in all (nobody speaks)": "Pauses en tout (personne ne parle)",
    "Caller anger at the start": "Colère de l'appelant au début",
    "Caller anger at the end": "Colère de l'appelant à la fin",
    "Change in caller anger": "Évolution de la colère de l'appelant",
    "Models recalibrated (tonekit recalibrate)": "Modèles recalibrés (tonekit recalibrate)",
    "Call": "Appel", "Value": "Valeur", "Feature": "Mesure", "Proximity": "Proximité",
    "Convergence": "Convergence", "Synchrony": "Synchronie", "Events": "Événements",
    "Summary": "Résumé", "Entrainment": "Synchronisation", "Events per tip": "Événements par conseil",
    "How much the two voices move together: proximity (close in level), convergence (getting closer over the "
    "call), synchrony (rising and falling together).":
        "À quel point les deux voix bougent ensemble : proximité (niveaux proches), convergence (qui se "
        "rapprochent au fil de l'appel), synchronie (montent et descendent ensemble).",
    "Made with tonekit {version}. This page loads nothing from the network.":
        "Produit avec tonekit {version}. Cette page ne charge rien depuis le réseau.",
    # the overview page of a batch
    "Length": "Durée", "Caller angry (s)": "Appelant en colère (s)", "Tip 1": "Conseil 1", "Tip 7": "Conseil 7",
    "Tip 8": "Conseil 8", "Tip 9": "Conseil 9", "Tip 12": "Conseil 12", "Notes": "Remarques",
    "Not analysed ({count})": "Non analysés ({count})", "← All calls": "← Tous les appels",
    "tonekit batch: {count} calls": "tonekit batch : {count} appels",
    "tonekit batch: {count} call": "tonekit batch : {count} appel",
    "Calls with the most tone events first (tips 8 and 9, then 7), then the longest angry caller. A count of n/a: "
    "that tip could not be judged (a side's tone was not scored).":
        "Les appels qui ont le plus d'événements de ton d'abord (conseils 8 et 9, puis 7), puis ceux où l'appelant "
        "est en colère le plus longtemps. Un nombre n.d. : ce conseil n'a pas pu être jugé (le ton d'un "
        "interlocuteur n'a pas été évalué).",
    # the plot
    "{speaker} speaking": "{speaker} parle",
    "event (tip)": "événement (conseil)",
    "{speaker} speech": "parole {speaker}",
    "time in the call (m:ss)": "moment de l'appel (m:ss)",
    "score (0 not at all, 1 clearly)": "score (0 pas du tout, 1 nettement)",
}


# ----------------------------------------------------------------------------- evidence

#: The French of the matcher's evidence sentence of each event kind (:data:`tonekit.match.EVIDENCE`); ``pitch_st``
#: is "demi-ton" or "demi-tons" by the pitch change.
EVIDENCE_FR = {
    "mirrored_anger": "colère de la secrétaire {anger} alors que celle de l'appelant est de {caller_anger} ; hauteur "
                      "de sa voix {pitch} {pitch_st}, intensité {loudness} dB",
    "upbeat_vs_angry": "colère de l'appelant {caller_anger} alors que la chaleur de la secrétaire est de {warmth} et "
                       "la hauteur de sa voix {pitch} {pitch_st}",
    "escalation": "hauteur de voix de la secrétaire {pitch} {pitch_st} et intensité {loudness} dB au-dessus de "
                  "l'habitude, alors que la colère de l'appelant est de {caller_anger}",
    "no_smile": "chaleur de la secrétaire {warmth} et indice de sourire {smile} % pendant {seconds} s",
    "interruption": "la secrétaire a commencé à {time} pendant que l'appelant parlait ; ils ont parlé en même temps "
                    "pendant {seconds} s",
    "long_silence": "personne n'a parlé pendant {seconds} s (à partir de {time})",
}

_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def _said_again(text: str, templates: dict, french: dict, words) -> str:
    """``text``, written from one of ``templates`` (English), in the current language: in French, the same
    template's entry of ``french`` filled with its fields, numbers with decimal commas (a path as it is) and the
    words ``words(fields)`` gives; a text written otherwise, or English, as it is."""
    from ..notes import parse

    if _current.get() != "fr":
        return text
    found = parse(text, templates)
    if found is None:
        return text
    key, fields = found
    values = {k: decimal(v) if _NUMBER.match(v) and k != "path" else v for k, v in fields.items()}
    return french[key].format(**{**values, **words(fields)})


def _pitch_unit(fields: dict) -> dict:
    """A French unit is singular below 2 ("-0,3 demi-ton", "2,5 demi-tons")."""
    pitch = fields.get("pitch", "")
    return {"pitch_st": "demi-ton" if _NUMBER.match(pitch) and abs(float(pitch)) < 2 else "demi-tons"}


def evidence(text: str) -> str:
    """An event's evidence sentence in the current language (one the matcher did not write stays as it is)."""
    from ..match import EVIDENCE

    return _said_again(text, EVIDENCE, EVIDENCE_FR, _pitch_unit)


# ----------------------------------------------------------------------------- notes on the audio

#: The French of each warning of :data:`tonekit.notes.NOTES`. Fields: as in English, numbers with decimal
#: commas; ``side``/``other`` as "secrétaire"/"appelant", ``side_de``/``other_de`` "de la secrétaire"/"de
#: l'appelant", ``side_le`` "la secrétaire"/"l'appelant"; ``what`` "audio"/"canal N", ``what_le`` "l'audio"/"le
#: canal N".
NOTES_FR = {
    "dc_offset": "{path} : {what_le} porte une composante continue de {dc} ({dbfs} dBFS) : retirée avant l'analyse",
    "tones": "{path} : tonalités continues, pas de la parole, côté {side} ({what}) à {spans} (retour d'appel, "
             "occupé ou tonalité ?) : écartées de sa parole",
    "keys": "{path} : tonalités de touches (DTMF), pas de la parole, côté {side} ({what}) à {spans} (touches du "
            "clavier ?) : écartées de sa parole",
    "music": "{path} : son continu, pas de la parole, côté {side} ({what}) à {spans} (musique d'attente ?) : "
             "écarté de sa parole",
    "hum": "{path} : ronflement du secteur ou grondement côté {side} ({what}) : son bruit est {db} dB plus faible "
           "au-dessus de {hz} Hz, où sa parole est cherchée",
    "hum_mix": "{path} : ronflement du secteur ou grondement dans le mélange ({what}) : son bruit est {db} dB plus "
               "faible au-dessus de {hz} Hz, où la parole est cherchée",
    "echo": "{path} : la voix {other_de} revient côté {side} ({what}) {ms} ms plus tard, {db} dB plus bas (écho de "
            "ligne) : écartée de sa parole",
    "clipped": "{path} : {what_le} est légèrement écrêté ({percent} % des échantillons à pleine échelle)",
    "short_file": "{path} : le fichier {side_de} dure {seconds} s, celui {other_de} {other_seconds} s : le côté "
                  "{side} est muet à partir de {time}",
    "rates": "{path} : le fichier {side_de} est à {hz} Hz, celui {other_de} à {other_hz} Hz : les deux sont "
             "analysés à {rate} Hz",
    "turns": "{path} : les tours de parole vont jusqu'à {seconds} s mais {name} dure {duration} s (les tours d'un "
             "autre enregistrement ?)",
    "no_speech": "{path} : aucune parole trouvée pour {side_le} ({what}) : son ton ne peut pas être évalué (une "
                 "fenêtre demande {need} s)",
    "little_speech": "{path} : seulement {seconds} s de parole trouvées pour {side_le} ({what}) : son ton ne peut pas "
                     "être évalué (une fenêtre demande {need} s)",
    "noisy": "{path} : la parole {side_de} ({what}) ne dépasse le bruit que de {db} dB, moins que dans tout ce dont "
             "les modèles de ton ont appris ({need} dB ou plus) : ses scores de ton sont moins fiables",
    "no_reference": "{path} : trop peu de parole pour {side_le} ({what}) pour lire son ton par rapport à sa voix "
                    "habituelle dans l'appel : elle remplit {count} des {reference} fenêtres de {window} s "
                    "distinctes qu'il faut ({need} s de parole chacune) ; son ton n'est pas évalué",
    "no_population": "la fiche du modèle n'a pas de {missing} (un modèle ancien ou fait main) : chaque "
                     "interlocuteur est lu par rapport à sa seule voix (population_share=0)",
    "no_pulses": "l'analyse des impulsions glottiques de Praat a échoué ({error}) : jitter et shimmer n'y sont pas "
                 "mesurés",
}

_SIDES = {"agent": ("secrétaire", "de la secrétaire", "la secrétaire"),
          "caller": ("appelant", "de l'appelant", "l'appelant")}


def _what(what: str) -> tuple[str, str]:
    """``audio`` / ``channel N`` in French, bare and with its article."""
    m = re.fullmatch(r"channel (\d+)", what)
    return (f"canal {m.group(1)}", f"le canal {m.group(1)}") if m else (("audio", "l'audio") if what == "audio"
                                                                        else (what, what))


def _note_words(fields: dict) -> dict:
    """The sides and the channel of a note, as the French templates name them."""
    words = {}
    for role in ("side", "other"):
        if fields.get(role) in _SIDES:
            words[role], words[f"{role}_de"], words[f"{role}_le"] = _SIDES[fields[role]]
    if "what" in fields:
        words["what"], words["what_le"] = _what(fields["what"])
    return words


def note_text(text: str) -> str:
    """A warning on a call's audio (:mod:`tonekit.notes`) in the current language; one not written from those
    templates stays as it is."""
    from ..notes import NOTES

    return _said_again(text, NOTES, NOTES_FR, _note_words)


__all__ = ["LANGUAGES", "language", "checked", "current", "t", "decimal", "speaker_name", "evidence", "note_text"]
