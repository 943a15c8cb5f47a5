"""Piper's random noise, drawn by numpy from a seed we choose, in one ONNX session.

A piper (VITS) voice draws Gaussian noise inside the ONNX graph twice per call: for the
phoneme durations (``/dp/RandomNormalLike``, shape ``[1, 2, phonemes]``) and for the latent
speech (``/RandomNormalLike``, shape ``[1, 192, frames]``). ONNX Runtime seeds those
generators when a session is created and advances them on every call, so the same sentence
came out a little different (about 2 % in length) depending on what was spoken before it;
a new session per sentence fixed that but cost about 0.3 s a sentence, twice the synthesis.

Here each ``RandomNormalLike`` node is replaced by a ``Slice`` of a new graph input of the
same meaning, cut to the shape the node would have drawn. :class:`SeededPiperSession` feeds
those inputs from ``numpy.random.default_rng(seed)``, reseeded per sentence, so one session
serves every sentence and a sentence always gets the same noise, in any order and process.
The noise is laid out time-first, so its first N columns do not depend on how many were
drawn (a retry with a larger bound gives the same speech).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from spine.errors import SpineError

__all__ = ["NOISE_INPUTS", "SeededPiperSession", "noise_fed_model", "text_seed"]

#: new graph input -> (node it replaces, channels of the noise)
NOISE_INPUTS = {
    "noise_durations": ("/dp/RandomNormalLike", 2),
    "noise_latent": ("/RandomNormalLike", 192),
}
#: frames of latent noise drawn per phoneme (a bound; a longer result is retried with more)
FRAMES_PER_PHONEME = 48


class PiperModelError(SpineError, RuntimeError):
    """A Piper voice whose graph is not the VITS export this module knows (a user-installed voice)."""


def text_seed(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) & 0x7FFFFFFF


def noise_fed_model(model_path: str | Path) -> bytes:
    """The voice model with its two noise nodes fed from graph inputs (serialized ONNX)."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(model_path))
    graph = model.graph
    randoms = {n.name: n for n in graph.node if n.op_type.startswith("Random")}
    wanted = {node for node, _ in NOISE_INPUTS.values()}
    if set(randoms) != wanted:
        raise PiperModelError(
            f"{Path(model_path).name}: random nodes {sorted(randoms)}, expected {sorted(wanted)}; "
            "this voice model is not the VITS export piper_noise knows"
        )
    zeros = helper.make_tensor("noise_slice_starts", TensorProto.INT64, [3], [0, 0, 0])
    graph.initializer.append(zeros)
    for input_name, (node_name, channels) in NOISE_INPUTS.items():
        node = randoms[node_name]
        like, out = node.input[0], node.output[0]
        graph.input.append(helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, channels, None]))
        shape = helper.make_node("Shape", [like], [f"{input_name}_shape"], name=f"{input_name}/Shape")
        cut = helper.make_node(
            "Slice", [input_name, "noise_slice_starts", f"{input_name}_shape"], [out], name=f"{input_name}/Slice"
        )
        index = list(graph.node).index(node)
        graph.node.remove(node)
        graph.node.insert(index, cut)
        graph.node.insert(index, shape)
    return model.SerializeToString()


class SeededPiperSession:
    """Stands in for piper's ``onnxruntime.InferenceSession`` (piper only calls ``run``)."""

    def __init__(self, model_path: str | Path, threads: int = 0):
        """``threads``: ONNX Runtime's threads for one call (0: one per core)."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # Its threads sleep between calls instead of spinning: a render synthesises speech while
        # it draws and x264 encodes, and spinning threads took their cores (the same samples;
        # about a quarter less CPU for a sentence while x264 ran beside it, the same speed alone).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            noise_fed_model(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.rng = np.random.default_rng(0)

    def seed(self, text: str) -> None:
        """Noise for the next call(s) starts from ``text``'s seed."""
        self.rng = np.random.default_rng(text_seed(text))

    def get_inputs(self):
        return [i for i in self.session.get_inputs() if i.name not in NOISE_INPUTS]

    def get_outputs(self):
        return self.session.get_outputs()

    def _noise(self, rng: np.random.Generator, channels: int, length: int) -> np.ndarray:
        return np.ascontiguousarray(rng.standard_normal((length, channels), dtype=np.float32).T[None])

    def run(self, output_names, inputs: dict, run_options=None):
        phonemes = int(inputs["input"].shape[1])
        state = self.rng.bit_generator.state
        frames = max(256, FRAMES_PER_PHONEME * phonemes)
        for attempt in range(3):
            self.rng.bit_generator.state = state  # a retry draws the same numbers
            durations = self._noise(self.rng, NOISE_INPUTS["noise_durations"][1], phonemes)
            # the latent noise has its own stream, so how much of it is drawn shifts nothing else
            latent_rng = np.random.default_rng(self.rng.integers(2**63))
            feed = dict(
                inputs,
                noise_durations=durations,
                noise_latent=self._noise(latent_rng, NOISE_INPUTS["noise_latent"][1], frames),
            )
            try:
                return self.session.run(output_names, feed, run_options)
            except Exception:  # noqa: BLE001 - onnxruntime's own types; too little latent noise fails a shape check
                if attempt == 2:
                    raise
                frames *= 4
        raise AssertionError("unreachable")
