"""Streaming emotion recognition: feed audio in chunks, get an updated estimate every hop.

What an estimate is
-------------------
At every emission time ``t`` (a multiple of ``cfg.deploy.stream_hop_s``) the recognizer estimates the emotion of
the **window** ``y[t - W : t]`` with ``W = (max_length - 1) * hop`` samples (2.99 s for 300 frames at a 10 ms
hop): exactly ``max_length`` centred frames, i.e. one model window, no cropping. Before ``W`` samples have
arrived the window is ``y[0 : t]`` (fewer frames, padded and masked). By construction the estimate equals what
the offline predictor gives for the same span, ``Predictor.predict(y[t - W : t])`` (:func:`offline_estimates`);
``tests/test_streaming.py`` checks that.

What is reused, what is recomputed
----------------------------------
- **Log-mel frames** (the STFT and the mel filterbank: frame-local, no per-utterance normalisation) are
  computed once per frame as audio arrives and kept in a frame cache. A window needs only 4 of its frames
  recomputed: the 2 first and the 2 last, whose 25 ms analysis windows cross the window's edges (offline
  they see zero padding there, and pre-emphasis restarts at the window's first sample).
- **MFCC (DCT), Δ and ΔΔ** are recomputed on the window's cached log-mel frames (cheap matrix products;
  the Δ edge rule of the offline recipe needs the window's own edges).
- **Prosody** (Praat pitch, voicing, harmonicity, jitter/shimmer, and the utterance-level descriptors) is
  recomputed on the window audio at each emission: Praat's pitch path is a Viterbi search over the whole
  signal and the descriptors are window statistics by definition, so reusing them would *change* the
  features. This is the dominant cost of an emission (measured in chapters/08_deployment.py).

Latency and memory
------------------
- Algorithmic latency: **none beyond the window itself** - an estimate for ``t`` needs audio up to ``t`` only
  (the last frames are zero-padded at ``t`` exactly as offline; Δ uses the offline edge rule, no look-ahead).
  It is emitted when the chunk containing sample ``t`` arrives: at most one chunk (``chunk_ms``) later. The
  estimate describes a whole window, so a change of emotion shows fully only ~W after it happens.
- Compute per emission is constant (one window of prosody + 4 STFT frames + one forward pass), whatever the
  stream length; :attr:`StreamEstimate.compute_ms` records it.
- Memory is bounded: the audio buffer keeps at most ``W + stream hop + chunk`` samples and the frame cache at
  most ``max_length + hop frames + chunk frames`` frames (:meth:`StreamingRecognizer.buffered_samples`).

Explained in chapters/08_deployment.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from sernet.config import Config
from sernet.data.audio import NO_SPEECH_PROBLEMS, SILENCE_PEAK, validate_audio
from sernet.deploy.predictor import NO_SPEECH, Predictor, PreparedAudio, softmax
from sernet.deploy.runners import single_threaded_blas
from sernet.errors import AudioError, SernetError

EDGE_FRAMES = 2  # frames at each window edge whose analysis window crosses the edge (recomputed)


@dataclass(frozen=True)
class StreamEstimate:
    """One streaming estimate.

    Attributes
    ----------
    time_s : float
        End of the analysed window (the emission time).
    start_s : float
        Start of the analysed window.
    label : str
        Predicted emotion, or :data:`sernet.deploy.predictor.NO_SPEECH` for a window without speech.
    probabilities : np.ndarray [shape=(n_classes,)] or None
        Softmax probabilities (None for no speech).
    compute_ms : float
        Processing time of this emission (features + model), wall clock.
    """

    time_s: float
    start_s: float
    label: str
    probabilities: np.ndarray | None
    compute_ms: float = 0.0


def window_samples(cfg: Config) -> int:
    """Samples in a streaming window: ``(max_length - 1) * hop``, i.e. exactly ``max_length`` frames."""
    return (cfg.features.max_length - 1) * cfg.features.hop_length


def emission_samples(cfg: Config, hop_s: float | None = None) -> int:
    """Samples between emissions: ``stream_hop_s`` rounded to whole frames."""
    hop_s = cfg.deploy.stream_hop_s if hop_s is None else hop_s
    frames = int(round(hop_s * 1000.0 / cfg.features.hop_ms))
    if frames < 1:
        raise SernetError(f"deploy.stream_hop_s={hop_s} is shorter than one {cfg.features.hop_ms} ms frame")
    return frames * cfg.features.hop_length


def emission_times(n_samples: int, cfg: Config, hop_s: float | None = None) -> np.ndarray:
    """Sample positions ``t`` at which a stream of ``n_samples`` samples emits an estimate."""
    step = emission_samples(cfg, hop_s)
    return np.arange(step, n_samples + 1, step, dtype=np.int64)


class StreamingRecognizer:
    """Incremental emotion estimates over a sliding window (see the module docstring).

    Parameters
    ----------
    predictor : sernet.deploy.predictor.Predictor
        Any backend (Keras, SavedModel, LiteRT).
    hop_s : float or None
        Seconds between estimates (default ``cfg.deploy.stream_hop_s``).

    Examples
    --------
    >>> rec = StreamingRecognizer(predictor)                              # doctest: +SKIP
    >>> for chunk in chunks(y, rec.chunk_samples):                        # doctest: +SKIP
    ...     for est in rec.push(chunk):
    ...         print(est.time_s, est.label)
    """

    def __init__(self, predictor: Predictor, hop_s: float | None = None) -> None:
        self.predictor = predictor
        cfg = predictor.cfg
        self.fcfg = cfg.features
        self.hop = self.fcfg.hop_length
        self.sr = self.fcfg.sample_rate_hz
        self.window = window_samples(cfg)
        self.step = emission_samples(cfg, hop_s)
        self.chunk_samples = int(round(cfg.deploy.chunk_ms * self.sr / 1000.0))
        # Frames whose analysis window reaches back past a segment's first sample (n_fft / 2 + 1 samples for
        # the zero padding and the pre-emphasis of the first sample): computed from a segment starting this
        # many frames earlier.
        self.margin = math.ceil((self.fcfg.n_fft // 2 + 1) / self.hop)
        self.reset()

    def reset(self) -> None:
        """Forget all audio (start a new stream)."""
        self._audio = np.zeros(0, dtype=np.float32)
        self._audio_start = 0  # stream index of self._audio[0]
        self._n = 0  # samples received
        self._mel = np.zeros((0, self.fcfg.n_mels), dtype=np.float32)
        self._mel_start = 0  # global frame index of self._mel[0]
        self._next_frame = 0  # first global frame not computed yet
        self._next_emit = self.step
        self.last_features: np.ndarray | None = None  # raw features [T, 268] of the latest emitted window

    # -- bookkeeping ---------------------------------------------------------------------------------------
    def buffered_samples(self) -> tuple[int, int]:
        """(audio samples, log-mel frames) held right now: bounded, whatever the stream length."""
        return len(self._audio), len(self._mel)

    def _slice(self, a: int, b: int) -> np.ndarray:
        return self._audio[a - self._audio_start : b - self._audio_start]

    def _update_frames(self) -> None:
        """Compute log-mel frames whose whole analysis window has arrived."""
        from sernet.features.spectral import log_mel_spectrogram

        last = (self._n - self.fcfg.n_fft // 2) // self.hop  # last frame fully inside the received audio
        if last < self._next_frame:
            return
        seg_frame = max(0, self._next_frame - self.margin)
        seg = self._slice(seg_frame * self.hop, self._n)
        mel = log_mel_spectrogram(seg, self.fcfg)
        new = mel[self._next_frame - seg_frame : last - seg_frame + 1]
        self._mel = np.concatenate([self._mel, new])
        self._next_frame = last + 1

    def _trim(self) -> None:
        next_start = max(0, self._next_emit - self.window)
        keep_audio = min(next_start, max(0, self._next_frame - self.margin) * self.hop)
        if keep_audio > self._audio_start:
            self._audio = self._audio[keep_audio - self._audio_start :]
            self._audio_start = keep_audio
        keep_frame = next_start // self.hop
        if keep_frame > self._mel_start:
            self._mel = self._mel[keep_frame - self._mel_start :]
            self._mel_start = keep_frame

    # -- features of one window ----------------------------------------------------------------------------
    def window_log_mel(self, a: int, t: int) -> np.ndarray:
        """Log-mel frames of the window ``[a, t)``, equal to ``log_mel_spectrogram(y[a:t])``.

        Interior frames come from the frame cache; the :data:`EDGE_FRAMES` first and last frames are
        recomputed from the window's own audio (zero padding and pre-emphasis restart as offline).
        """
        from sernet.features.spectral import log_mel_spectrogram

        y = self._slice(a, t)
        n = 1 + (t - a) // self.hop
        if n <= 2 * (EDGE_FRAMES + self.margin):
            return log_mel_spectrogram(y, self.fcfg)
        g0 = a // self.hop
        out = np.array(self._mel[g0 - self._mel_start : g0 - self._mel_start + n])
        if len(out) < n:  # the last frames are not in the cache yet (computed below)
            out = np.concatenate([out, np.zeros((n - len(out), out.shape[1]), np.float32)])
        if a > 0:  # at the stream start the cached frames already saw the same zero padding
            head = log_mel_spectrogram(y[: (EDGE_FRAMES + self.margin) * self.hop], self.fcfg)
            out[:EDGE_FRAMES] = head[:EDGE_FRAMES]
        tail_len = (EDGE_FRAMES + self.margin) * self.hop
        tail = log_mel_spectrogram(y[-tail_len:], self.fcfg)
        out[n - EDGE_FRAMES :] = tail[-EDGE_FRAMES:]
        return out

    def window_features(self, a: int, t: int) -> np.ndarray:
        """Raw frame features [T, 268] of the window ``[a, t)``: ``extract_frame_features(y[a:t])``, with the
        interior log-mel frames reused from the cache.

        Raises
        ------
        AudioError
            As :func:`sernet.features.extract_frame_features` (e.g. ``silent``).
        """
        from sernet.features.extract import PROSODY_UTTERANCE_NAMES
        from sernet.features.prosody import prosodic_features
        from sernet.features.spectral import mfcc_from_log_mel

        y = validate_audio(self._slice(a, t), sample_rate_hz=self.sr, source="<stream>")
        log_mel = self.window_log_mel(a, t)
        mfcc = mfcc_from_log_mel(log_mel, self.fcfg)
        pros, d = prosodic_features(y, self.fcfg)
        utt = np.array([d[k] for k in PROSODY_UTTERANCE_NAMES], dtype=np.float32)
        frames = np.concatenate([mfcc, log_mel, pros, np.broadcast_to(utt, (len(pros), len(utt)))], axis=1)
        if not np.all(np.isfinite(frames)):
            raise AudioError("<stream>", "non_finite_features", f"window {a / self.sr:.2f}-{t / self.sr:.2f} s")
        return np.ascontiguousarray(frames, dtype=np.float32)

    # -- the stream ----------------------------------------------------------------------------------------
    def push(self, chunk: np.ndarray) -> list[StreamEstimate]:
        """Add a chunk of audio (any length); return the estimates that became due (possibly none)."""
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(chunk)):
            raise AudioError("<stream>", "non_finite", f"chunk at {self._n / self.sr:.2f} s holds NaN/Inf")
        self._audio = np.concatenate([self._audio, chunk])
        self._n += len(chunk)
        with single_threaded_blas():
            self._update_frames()
        out = []
        while self._next_emit <= self._n:
            out.append(self._emit(self._next_emit))
            self._next_emit += self.step
        self._trim()
        return out

    def _emit(self, t: int) -> StreamEstimate:
        t0 = time.perf_counter()
        a = max(0, t - self.window)
        p = self.predictor
        y = self._slice(a, t)
        if float(np.max(np.abs(y))) < SILENCE_PEAK:
            raw = None
        else:
            with single_threaded_blas():
                raw = self.window_features(a, t)
            raw = raw if p.has_speech(raw) else None
        self.last_features = raw
        if raw is None:
            label, probs = NO_SPEECH, None
        else:
            x, m, _ = p.window_inputs(raw)
            probs = softmax(p.runner.logits(x, m))[0]
            label = p.classes[int(np.argmax(probs))]
        return StreamEstimate(t / self.sr, a / self.sr, label, probs, (time.perf_counter() - t0) * 1000.0)

    def run(self, y: np.ndarray, chunk_samples: int | None = None) -> list[StreamEstimate]:
        """Stream a whole recording through in chunks (``cfg.deploy.chunk_ms`` by default)."""
        out = []
        for chunk in chunks(y, chunk_samples or self.chunk_samples):
            out.extend(self.push(chunk))
        return out


def chunks(y: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """Consecutive pieces of ``y`` of ``size`` samples (the last may be shorter)."""
    for i in range(0, len(y), size):
        yield y[i : i + size]


def offline_estimates(predictor: Predictor, y: np.ndarray, hop_s: float | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The offline reference of a stream: ``predictor`` on each window ``y[t - W : t]``, from scratch.

    Returns
    -------
    times_s : np.ndarray [shape=(E,)]
        Emission times (window ends).
    probabilities : np.ndarray [shape=(E, n_classes)]
        Mean probabilities of ``Predictor.predict`` on each window (one model window each); NaN rows for
        windows without speech.
    """
    cfg = predictor.cfg
    w = window_samples(cfg)
    times = emission_times(len(y), cfg, hop_s)
    prepared = []
    for t in times:
        seg = np.asarray(y[max(0, t - w) : t], dtype=np.float32)
        try:
            prepared.append(predictor.prepare(seg))
        except AudioError as exc:
            if exc.problem not in NO_SPEECH_PROBLEMS:
                raise
            prepared.append(PreparedAudio("<array>", len(seg) / cfg.features.sample_rate_hz, None))
    results = predictor.predict_prepared(prepared)
    probs = np.array([[r.probabilities[c] for c in predictor.classes] if r.speech
                      else [np.nan] * len(predictor.classes) for r in results], dtype=np.float32)
    return times / cfg.features.sample_rate_hz, probs


def estimates_array(estimates: Iterable[StreamEstimate], n_classes: int) -> np.ndarray:
    """Stack streamed probabilities into [E, n_classes] (NaN rows for no-speech estimates)."""
    return np.array([e.probabilities if e.probabilities is not None else np.full(n_classes, np.nan)
                     for e in estimates], dtype=np.float32)


def demo_recording(cfg: Config, labels: tuple[str, ...] = ("neutral", "angry", "sad", "happy"),
                   utterances_per_segment: int = 3, split: str = "test"
                   ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A long recording of one speaker whose emotion changes over time, with the truth per sample.

    Concatenates utterances of the synthetic corpus (``sernet.data.synthetic.synthesize_utterance``, the
    generator left untouched): ``utterances_per_segment`` utterances of each emotion in ``labels``, in that
    order, all of the ``split`` speaker who has the most of them (speaker-independent for a model trained on
    the train split). A label that speaker has too few of is filled from the split's other speakers.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
    truth : np.ndarray [shape=(n,), dtype=int64]
        Class index (into :data:`sernet.EMOTIONS`) of every sample.
    indices : list[int]
        Corpus utterance indices used, in order.
    """
    from sernet.data.synthetic import corpus_plan, synthesize_utterance
    from sernet.labels import class_index

    plan = corpus_plan(cfg)
    plan = plan[plan["split"] == split]
    if plan.empty:
        raise SernetError(f"demo_recording: the synthetic corpus has no {split!r} split")
    counts = plan.groupby(["speaker", "label"]).size()
    def score(spk: str) -> tuple[int, int]:
        have = [min(int(counts.get((spk, lab), 0)), utterances_per_segment) for lab in labels]
        return sum(h > 0 for h in have), sum(have)
    speaker = max(sorted(plan["speaker"].unique()), key=score)
    indices: list[int] = []
    for lab in labels:
        own = plan.index[(plan["speaker"] == speaker) & (plan["label"] == lab)].tolist()
        other = plan.index[(plan["speaker"] != speaker) & (plan["label"] == lab)].tolist()
        chosen = (own + other)[:utterances_per_segment]
        if not chosen:
            raise SernetError(f"demo_recording: no {lab!r} utterance in the {split!r} split")
        indices.extend(int(i) for i in chosen)
    pieces, truth = [], []
    for i in indices:
        y, params = synthesize_utterance(i, cfg)
        pieces.append(np.asarray(y, np.float32))
        truth.append(np.full(len(y), class_index(params["label"]), dtype=np.int64))
    return np.concatenate(pieces), np.concatenate(truth), indices
