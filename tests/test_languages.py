"""Every video in every language we have words for: words are data, Spanish is whole and plain.

Nothing here renders: the scene code is read (ast), the scripts are filled through the same
narration filler the build uses, and every data phrase a scene shows must have its words.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from voiceover.scripts import SCRIPTS_DIR, ScriptError, available_languages, load_script
from voiceover.vocabulary import Vocabulary, load_vocabulary

ROOT = Path(__file__).resolve().parents[1]
SCENE_FILES = sorted((ROOT / "scenes").glob("*.py")) + [ROOT / "scenes" / "kit" / "procedure_blocks.py"]
# functions whose string arguments end up on screen
TEXT_CALLS = {
    "text",
    "paragraph",
    "heading",
    "title_card",
    "fact_card",
    "set_heading",
    "retitle",
    "caption",
    "pointer",
    "education_card",
    "Text",
    "MarkupText",
    "Tex",
    "_fact_beat",
    "swap",
    "_info_card",
    "wrap",
    "panel",
    "caption_strip",
}


def _videos():
    from spine.videos import all_videos

    return all_videos()


def _docstrings(tree) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                ids.add(id(first.value))
    return ids


# calls whose string arguments are keys or data names, not words on screen
KEY_LOOKUPS = {"words", "says", "term", "get", "landmark", "level_centre", "project", "number", "pose_labeller"}


def _words_in(node) -> list[str]:
    """Literal letters a call argument would put on screen (strings, f-string text, list items),
    not looking into key lookups like ``self.words("problem")`` or ``context.get("nerves")``."""
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in KEY_LOOKUPS:
            return []
    if isinstance(node, ast.Constant):
        return [node.value] if isinstance(node.value, str) and re.search(r"[A-Za-z]{2,}", node.value) else []
    found = []
    for child in ast.iter_child_nodes(node):
        found += _words_in(child)
    return found


def _in_raise(tree) -> set[int]:
    """Nodes inside ``raise`` statements: error messages for developers, not on screen."""
    return {id(sub) for node in ast.walk(tree) if isinstance(node, ast.Raise) for sub in ast.walk(node)}


def literal_screen_words(path: Path) -> list[str]:
    """Every user-facing literal in a scene file: strings passed to text-making calls, and any
    f-string or sentence-like literal inside a scene's methods (docstrings and keys excepted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree) | _in_raise(tree)
    problems = []
    for node in ast.walk(tree):
        if id(node) in docs:
            continue
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in TEXT_CALLS:
                for arg in list(node.args) + [k.value for k in node.keywords if k.arg not in ("color", "weight")]:
                    for word in _words_in(arg):
                        if not re.fullmatch(r"#[0-9A-Fa-f]{6}|BOLD|NORMAL|ITALIC", word):
                            problems.append(f"{path.name}:{node.lineno}: {name}({word!r})")
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            # a dotted lower-case key (f"disc.{level}.annulus") names a structure, not words
            if re.search(r"[A-Za-z]{2,}", text) and not re.fullmatch(r"[a-z_]*(\.[a-z_]*)+", text):
                problems.append(f"{path.name}:{node.lineno}: f-string {text!r}")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docs
            and re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", node.value)
            and not node.value.startswith(("self.", "#"))
        ):
            problems.append(f"{path.name}:{getattr(node, 'lineno', '?')}: sentence {node.value!r}")
    return problems


def scene_beat_methods() -> dict[str, list[str]]:
    """Scene class -> the beat methods of its scripts' beats (every beat has a method)."""
    out = {}
    for spec in _videos().values():
        cls = spec.scene_class()
        beats = [b.id for b in load_script(spec.script_name, "en").beats]
        methods = [f"beat_{b.replace('-', '_')}" for b in beats]
        missing = [m for m in methods if not hasattr(cls, m)]
        assert not missing, f"{spec.name}: {cls.__name__} lacks {missing}"
        out.setdefault(cls.__name__, [])
        out[cls.__name__] += [m for m in methods if m not in out[cls.__name__]]
    return out


def test_scene_code_shows_no_literal_words():
    """Walks every scene's beats (and the helpers they call) and finds no user-facing literal."""
    beats = scene_beat_methods()
    assert set(beats) == {"OverviewScene", "SpineAtlasScene", "ProcedureScene"}
    problems = [p for f in SCENE_FILES for p in literal_screen_words(f)]
    assert not problems, "on-screen words belong in the scripts or _vocabulary.yaml:\n" + "\n".join(problems)


def test_the_literal_check_catches_words(tmp_path):
    bad = tmp_path / "bad_scene.py"
    bad.write_text(
        'def beat_x(self, clock):\n    h = heading("The needle")\n    t = text(f"{self.level}, left side")\n'
        '    c = self.caption(["Numbing medicine goes into the skin"])\n    k = self.words("problem")\n'
    )
    found = literal_screen_words(bad)
    assert len([p for p in found if "heading('The needle')" in p]) == 1
    assert any("f-string" in p for p in found) and any("Numbing medicine" in p for p in found)
    assert not any("problem" in p for p in found)


def _requests():
    """Every video, at one level of every technique (both sides where it has sides)."""
    from spine.procedures.catalog import load_procedures
    from spine.videos import resolve

    procs = load_procedures()
    out = []
    for name, spec in _videos().items():
        if name in procs:
            proc = procs[name]
            for tech in proc.techniques:
                levels = [lv for lv in proc.allowed_levels if proc.technique_for(lv).id == tech.id]
                for level in {levels[0], levels[-1]}:
                    for side in spec.sides or (None,):
                        out.append(resolve(name, level, side))
        else:
            out.append(resolve(name))
    return out


def test_every_video_has_spanish():
    for name, spec in _videos().items():
        assert "es" in available_languages(spec.script_name), f"{name} has no Spanish script"


def test_spanish_scripts_fill_without_unknown_fields_and_show_only_spanish_data_words():
    from pipeline.build import check_data_words, narration_context
    from voiceover.vocabulary import screen_words

    english = load_vocabulary("en")
    for request in _requests():
        script = load_script(request.spec.script_name, "es").filled(narration_context(request, "es"))
        english_script = load_script(request.spec.script_name, "en")
        assert [b.id for b in script.beats] == [b.id for b in english_script.beats]
        words = screen_words(script)
        assert set(english.screen) | set(english_script.screen) <= set(words), request
        for beat in script.beats:
            assert "{" not in beat.text and "}" not in beat.text, (request, beat.id, beat.text)
        check_data_words(request, "es")  # raises naming any data phrase without Spanish words


def test_every_procedure_level_has_spanish_data_words():
    """Every allowed level and side: the level-dependent phrases ('the L4 nerve root') translate too."""
    from pipeline.build import narration_context
    from spine.procedures.catalog import load_procedures
    from spine.videos import resolve

    vocabulary = load_vocabulary("es")
    missing = set()
    for name, proc in load_procedures().items():
        for level in proc.allowed_levels:
            request = resolve(name, level, proc.default_side if proc.sided else None)
            try:
                narration_context(request, "es")
            except ScriptError as exc:
                missing.add(str(exc))
            assert vocabulary.level_words(level, "x")  # every level has Spanish words
    assert not missing, "\n".join(sorted(missing))


def test_a_missing_translation_is_an_error_naming_it(tmp_path, monkeypatch):
    from voiceover import scripts

    for lang in ("en", "es"):
        (tmp_path / lang).mkdir()
    en = yaml.safe_load((SCRIPTS_DIR / "en" / "medial-branch-block.yaml").read_text(encoding="utf-8"))
    es = yaml.safe_load((SCRIPTS_DIR / "es" / "medial-branch-block.yaml").read_text(encoding="utf-8"))
    (tmp_path / "en" / "medial-branch-block.yaml").write_text(yaml.safe_dump(en, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(scripts, "SCRIPTS_DIR", tmp_path)

    no_beat = dict(es, beats=[b for b in es["beats"] if b["id"] != "double_block"])
    (tmp_path / "es" / "medial-branch-block.yaml").write_text(
        yaml.safe_dump(no_beat, allow_unicode=True), encoding="utf-8"
    )
    with pytest.raises(ScriptError, match="no translation of beat.*double_block"):
        scripts.load_script("medial-branch-block", "es")

    no_key = dict(es, screen={k: v for k, v in es["screen"].items() if k != "confirm"})
    (tmp_path / "es" / "medial-branch-block.yaml").write_text(
        yaml.safe_dump(no_key, allow_unicode=True), encoding="utf-8"
    )
    with pytest.raises(ScriptError, match="on-screen text: confirm"):
        scripts.load_script("medial-branch-block", "es")


def test_a_data_phrase_without_words_is_an_error_naming_it():
    vocabulary = Vocabulary(
        "es", terms={"the {root} nerve root": "la raíz nerviosa {root}", "left": "izquierdo"}, decimal=","
    )
    assert vocabulary.term("the L4 nerve root") == "la raíz nerviosa L4"
    assert vocabulary.term("1-2 mL") == "1-2 mL" and vocabulary.term("0.5 mL") == "0,5 mL"
    with pytest.raises(ScriptError, match="'a brand new needle stop'"):
        vocabulary.term("a brand new needle stop")


def test_a_vocabulary_missing_a_screen_key_or_badly_shaped_names_it(tmp_path, monkeypatch):
    import voiceover.vocabulary as vocab

    for lang in ("en", "xx", "yy", "zz"):
        (tmp_path / lang).mkdir()
    (tmp_path / "en" / "_vocabulary.yaml").write_text("screen: {heading.where: Where, heading.needle: The needle}\n")
    (tmp_path / "xx" / "_vocabulary.yaml").write_text("screen: {heading.where: Dónde}\n")
    (tmp_path / "yy" / "_vocabulary.yaml").write_text("terms: {the needle: [la, aguja]}\n")
    (tmp_path / "zz" / "_vocabulary.yaml").write_text("number: {decimals: ','}\n")
    monkeypatch.setattr(vocab, "SCRIPTS_DIR", tmp_path)
    vocab.load_vocabulary.cache_clear()
    try:
        with pytest.raises(ScriptError, match="heading.needle"):
            vocab.load_vocabulary("xx")
        # the file's shape is a pydantic model: one line naming the file, the field and the problem
        with pytest.raises(
            ScriptError, match=r"^\S*yy/_vocabulary\.yaml: terms\.the needle: input should be a valid str"
        ):
            vocab.load_vocabulary("yy")
        with pytest.raises(ScriptError, match=r"^\S*zz/_vocabulary\.yaml: number\.decimals: extra inputs are not"):
            vocab.load_vocabulary("zz")
    finally:
        vocab.load_vocabulary.cache_clear()


def test_numbers_are_written_the_spanish_way():
    es, en = load_vocabulary("es"), load_vocabulary("en")
    assert es.number(0.5) == "0,5" and en.number(0.5) == "0.5" and es.number(50) == "50"
    assert load_vocabulary("es").numbers_in("bupivacaine 0.25 %") == "bupivacaine 0,25 %"
    # no decimal point in any Spanish words a video shows or says
    for path in sorted((SCRIPTS_DIR / "es").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        values = "\n".join(v for v in re.findall(r":\s*(.*)$", body, flags=re.MULTILINE))
        assert not re.search(r"\d\.\d", values), f"{path.name}: a number with a decimal point"


def test_the_spanish_level_words():
    es = load_vocabulary("es")
    assert es.level_words("L4-L5", "") == "el espacio entre la cuarta y la quinta vértebras lumbares"
    assert (
        es.level_words("T12-L1", "") == "el espacio entre la duodécima vértebra torácica y la primera vértebra lumbar"
    )
    assert es.level_words("C7", "") == "la séptima vértebra cervical"


def test_spanish_is_plain_for_patients():
    """Grade 8 or lower by two Spanish readability measures (Fernández-Huerta >= 60; INFLESZ,
    Szigriszt-Pazos, >= 55 'normal'), for the words of every video's Spanish script."""
    import textstat

    textstat.set_lang("es")
    try:
        for spec in _videos().values():
            script = load_script(spec.script_name, "es")
            words = " ".join(t for b in script.beats for t in ([b.text] + [v for _, v in b.variants]))
            words = re.sub(r"\{\w+\}", "eso", words)
            fh, inflesz = textstat.fernandez_huerta(words), textstat.szigriszt_pazos(words)
            assert fh >= 60 and inflesz >= 55, f"{spec.name}: Fernández-Huerta {fh:.0f}, INFLESZ {inflesz:.0f}"
    finally:
        textstat.set_lang("en_US")


@pytest.mark.parametrize(
    "video, term",
    [
        ("transforaminal-esi", "inyección epidural de esteroides"),
        ("interlaminar-esi", "inyección epidural de esteroides"),
        ("caudal-esi", "inyección epidural caudal de esteroides"),
        ("medial-branch-block", "bloqueo de la rama medial"),
        ("radiofrequency-ablation", "radiofrecuencia"),
    ],
)
def test_spanish_uses_the_terms_patients_meet(video, term):
    script = load_script(video, "es")
    assert term in (script.title + " " + " ".join(b.text for b in script.beats)).lower()


def test_spanish_pronunciation_lexicon_fixes_what_espeak_says_wrong():
    from voiceover.lexicon import LEXICON_PATH, load_lexicon

    words = yaml.safe_load(LEXICON_PATH.read_text(encoding="utf-8"))["es"]["words"]
    assert words, "the Spanish lexicon has no words"
    lexicon = load_lexicon("es")
    for entry in words:
        spoken = lexicon.spoken(f"La {entry['written']}.")
        run = subprocess.run(["espeak-ng", "-v", "es", "-q", "-x", spoken], capture_output=True, text=True, check=True)
        for fragment in entry["espeak"]:
            assert fragment in run.stdout, (
                f"{entry['written']!r} -> {spoken!r} -> {run.stdout.strip()} lacks {fragment}"
            )


def test_list_json_shows_the_languages_of_every_video():
    from click.testing import CliRunner

    from pipeline.cli import cli

    result = CliRunner().invoke(cli, ["list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == len(_videos())
    assert all({"en", "es"} <= set(row["languages"]) for row in rows), rows
