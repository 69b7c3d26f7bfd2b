// sernet live page: microphone -> AudioWorklet -> float32 chunks over WS /v1/stream -> plot of estimates.
// No external scripts: everything is served by sernet itself.
"use strict";

const COLORS = ["#d62728", "#ff7f0e", "#1f77b4", "#7f7f7f", "#9467bd", "#2ca02c", "#e377c2", "#8c564b",
                "#17becf", "#bcbd22"];
const state = { ws: null, ctx: null, node: null, source: null, media: null, classes: [], pending: [],
                pendingLength: 0, chunkSamples: 1600, plotSeconds: 30 };
window.sernetEstimates = [];  // every estimate message received (read by tests and by curious users)

const $ = (id) => document.getElementById(id);
const setStatus = (text) => { $("status").textContent = text; };

function authHeaders() {
  const token = $("token").value;
  return token ? { Authorization: "Bearer " + token } : {};
}

function drawLegend() {
  $("legend").innerHTML = "";
  state.classes.forEach((c, i) => {
    const s = document.createElement("span");
    s.innerHTML = `<i style="background:${COLORS[i % COLORS.length]}"></i>${c}`;
    $("legend").appendChild(s);
  });
}

function draw() {
  const canvas = $("plot"), g = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, est = window.sernetEstimates;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = "#eee";
  for (let k = 1; k < 4; k++) { g.beginPath(); g.moveTo(0, h * k / 4); g.lineTo(w, h * k / 4); g.stroke(); }
  if (!est.length) return;
  const tEnd = est[est.length - 1].time_s, tStart = Math.max(0, tEnd - state.plotSeconds);
  const x = (t) => ((t - tStart) / Math.max(state.plotSeconds, 1e-9)) * w;
  state.classes.forEach((c, i) => {
    g.strokeStyle = COLORS[i % COLORS.length];
    g.lineWidth = 2;
    g.beginPath();
    let down = false;
    for (const e of est) {
      if (e.time_s < tStart) continue;
      if (!e.probabilities) { down = false; continue; }
      const px = x(e.time_s), py = h - e.probabilities[c] * h;
      if (down) g.lineTo(px, py); else g.moveTo(px, py);
      down = true;
    }
    g.stroke();
  });
}

function showEstimate(e) {
  window.sernetEstimates.push(e);
  $("count").textContent = String(window.sernetEstimates.length);
  $("label").textContent = e.label;
  $("label").dataset.time = String(e.time_s);
  const rows = (e.probabilities ? state.classes : []).map(
    (c) => `<tr><td>${c}</td><td>${(e.probabilities[c] * 100).toFixed(1)} %</td></tr>`);
  $("probs").innerHTML = rows.join("");
  draw();
}

function flush(force) {
  while (state.pendingLength >= state.chunkSamples || (force && state.pendingLength > 0)) {
    const n = Math.min(state.chunkSamples, state.pendingLength), out = new Float32Array(n);
    let k = 0;
    while (k < n) {
      const head = state.pending[0], take = Math.min(head.length, n - k);
      out.set(head.subarray(0, take), k);
      k += take;
      if (take === head.length) state.pending.shift(); else state.pending[0] = head.subarray(take);
    }
    state.pendingLength -= n;
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(out.buffer);
  }
}

async function start() {
  $("start").disabled = true;
  try {
    const info = await fetch("/v1/model", { headers: authHeaders() });
    if (!info.ok) throw new Error("GET /v1/model: " + info.status + " " + (await info.text()));
    const model = await info.json();
    state.classes = model.classes;
    drawLegend();
    state.media = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    // Ask the browser to resample the microphone to the model's rate; a rate it refuses falls back to the
    // device rate, which the server then resamples (it accepts the rates listed by /v1/model).
    try { state.ctx = new AudioContext({ sampleRate: model.input.sample_rate_hz }); }
    catch (err) { state.ctx = new AudioContext(); }
    const rate = state.ctx.sampleRate;
    if (!model.stream.sample_rates_hz.includes(rate)) throw new Error("unsupported audio rate " + rate);
    state.chunkSamples = Math.round(rate * model.stream.chunk_ms / 1000);
    await state.ctx.audioWorklet.addModule("/worklet.js");
    state.source = state.ctx.createMediaStreamSource(state.media);
    state.node = new AudioWorkletNode(state.ctx, "sernet-capture");
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/v1/stream");
    ws.binaryType = "arraybuffer";
    state.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "start", sample_rate_hz: rate, encoding: "float32",
                                              token: $("token").value || undefined }));
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.type === "ready") {
        setStatus(`streaming at ${rate} Hz; an estimate every ${m.hop_s} s`);
        state.node.port.onmessage = (e) => { state.pending.push(e.data); state.pendingLength += e.data.length;
                                             flush(false); };
        state.source.connect(state.node);
      } else if (m.type === "estimate") {
        showEstimate(m);
      } else if (m.type === "error") {
        setStatus("server: " + m.code + ": " + m.message);
      } else if (m.type === "end") {
        setStatus(`stopped (${m.estimates} estimates)`);
      }
    };
    ws.onclose = (ev) => { if (ev.code !== 1000) setStatus($("status").textContent + ` (closed ${ev.code})`);
                           teardown(); };
    $("stop").disabled = false;
  } catch (err) {
    setStatus("error: " + err.message);
    teardown();
  }
}

function teardown() {
  if (state.source) state.source.disconnect();
  if (state.media) state.media.getTracks().forEach((t) => t.stop());
  if (state.ctx) state.ctx.close();
  state.source = state.media = state.ctx = state.node = null;
  $("start").disabled = false;
  $("stop").disabled = true;
}

function stop() {
  flush(true);
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: "stop" }));
  $("stop").disabled = true;
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", stop);
draw();
