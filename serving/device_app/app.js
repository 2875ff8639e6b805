// The on-device model in the browser: the form's 14 features become the same float32
// row the server builds (categories as their index in the schema, missing as NaN), and
// onnxruntime-web scores it with the version's model.onnx. The form holds each value to
// the rules the server applies (the schema's categories and plausible ranges, sent in
// model.json), shows which features moved the prediction most (TreeSHAP over the version's
// own trees, explain.js), and, when the server can be reached, whether it agrees.
"use strict";

ort.env.wasm.wasmPaths = new URL("ort/", window.location.href).href; // a URL, not a bare specifier
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty here

const TOP = 5; // features shown in the explanation
const AGREES = 1e-5; // the parity the export step holds the ONNX model to
const state = { session: null, meta: null, trees: null, rows: 0 };

function field(feature) {
  const id = `f-${feature.name}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = feature.title;
  const hint = document.createElement("small");
  hint.textContent = feature.categories
    ? `${feature.name}: one of ${feature.categories.length}`
    : `${feature.name}: ${feature.range_text || "any number"}`;
  label.appendChild(hint);
  let input;
  if (feature.categories) {
    input = document.createElement("select");
    for (const value of ["", ...feature.categories]) {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = value === "" ? "(missing)" : value;
      input.appendChild(option);
    }
  } else {
    input = document.createElement("input");
    input.type = "number";
    input.step = "any";
    input.placeholder = "missing";
    if (feature.range) {
      input.min = feature.range[0];
      input.max = feature.range[1];
    }
  }
  input.id = id;
  input.name = feature.name;
  return [label, input];
}

function setTypical() {
  for (const feature of state.meta.features) {
    const value = feature.typical;
    document.getElementById(`f-${feature.name}`).value = value === undefined ? "" : String(value);
  }
}

// The form's values as the server would read them, or the problems it would refuse them
// for (the same wording as the server's 400).
function read() {
  const instance = {};
  const problems = [];
  for (const feature of state.meta.features) {
    const element = document.getElementById(`f-${feature.name}`);
    const raw = element.value.trim();
    element.classList.remove("bad");
    if (raw === "") {
      instance[feature.name] = null;
    } else if (feature.categories) {
      instance[feature.name] = raw;
    } else {
      const value = Number(raw);
      const problem = refusal(feature, raw, value);
      if (problem) {
        problems.push(problem);
        element.classList.add("bad");
      }
      instance[feature.name] = value;
    }
  }
  return { instance, problems };
}

function refusal(feature, raw, value) {
  if (!Number.isFinite(value)) return `field ${feature.name} must be a number, got ${JSON.stringify(raw)}`;
  if (feature.range && (value < feature.range[0] || value > feature.range[1])) {
    return `field ${feature.name} is ${raw}, outside the plausible range ${feature.range_text}`;
  }
  return null;
}

function encode(instance) {
  return Float32Array.from(state.meta.features, (feature) => {
    const value = instance[feature.name];
    if (value === null) return NaN;
    return feature.categories ? feature.categories.indexOf(value) : value;
  });
}

function show(id, text) {
  document.getElementById(id).textContent = text;
}

function explain(x) {
  const why = document.getElementById("why");
  why.replaceChildren();
  if (!state.trees) return;
  const phi = window.censusContributions(state.trees, Float64Array.from(x));
  const n = state.meta.features.length;
  const raw = phi.reduce((a, b) => a + b, 0);
  const order = [...Array(n).keys()].sort((a, b) => Math.abs(phi[b]) - Math.abs(phi[a]));
  const largest = Math.abs(phi[order[0]]) || 1;
  const table = document.createElement("table");
  table.id = "contributions";
  for (const j of order.slice(0, TOP)) {
    const feature = state.meta.features[j];
    const value = document.getElementById(`f-${feature.name}`).value || "(missing)";
    const row = table.insertRow();
    row.dataset.feature = feature.name;
    row.insertCell().textContent = `${feature.title} = ${value}`;
    row.insertCell().textContent = `${phi[j] >= 0 ? "+" : ""}${phi[j].toFixed(3)}`;
    const bar = document.createElement("span");
    bar.className = `bar ${phi[j] >= 0 ? "up" : "down"}`;
    bar.style.width = `${(8 * Math.abs(phi[j])) / largest}em`;
    row.insertCell().appendChild(bar);
  }
  const title = document.createElement("p");
  title.textContent =
    `What moved it most (the model's own contributions, TreeSHAP, in log-odds: red ` +
    `towards >50K, blue away). Starting from ${phi[n].toFixed(3)} (the training data's ` +
    `average), all ${n} features add up to ${raw.toFixed(3)}, and ` +
    `sigmoid(${raw.toFixed(3)}) = ${(1 / (1 + Math.exp(-raw))).toFixed(6)}, the probability.`;
  why.append(title, table);
}

// What the server says of the same row, when it can be reached (one logged request).
async function compare(instance, p) {
  const note = document.getElementById("server");
  note.className = "note";
  const ask = new AbortController();
  const timer = setTimeout(() => ask.abort(), 3000);
  try {
    const answer = await fetch(new URL("/predict", window.location.href), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ instances: [instance] }),
      signal: ask.signal,
    });
    const body = await answer.json();
    if (!answer.ok) {
      note.textContent = `the server refuses this row (${answer.status}): ${body.error}`;
      note.className = "warn";
      return;
    }
    const served = body.predictions[0].probability;
    const by = body.model_version;
    if (Math.abs(served - p) <= AGREES && by === state.meta.version) {
      note.textContent = `the server agrees: P = ${served.toFixed(8)} (version ${by})`;
    } else {
      note.textContent =
        `differs from the server: it answered P = ${served.toFixed(8)} with version ${by}` +
        (by === state.meta.version ? "" : " (the endpoint splits traffic between versions)");
      note.className = "warn";
    }
  } catch (e) {
    note.textContent = "server not reachable: predicted on this device only";
  } finally {
    clearTimeout(timer);
  }
}

async function predict() {
  const { instance, problems } = read();
  const list = document.getElementById("problems");
  list.replaceChildren(...problems.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  if (problems.length) {
    show("probability", "-");
    show("label", "-");
    document.getElementById("why").replaceChildren();
    show("server", "");
    return null;
  }
  const x = encode(instance);
  const input = new ort.Tensor("float32", x, [1, x.length]);
  const out = await state.session.run({ [state.meta.input]: input });
  const p = out.probabilities.data[1];
  show("probability", p.toFixed(8));
  show("label", p >= state.meta.threshold ? state.meta.classes[1] : state.meta.classes[0]);
  state.rows += 1;
  show("rows", String(state.rows));
  explain(x);
  await compare(instance, p);
  return p;
}

async function main() {
  const status = document.getElementById("status");
  try {
    state.meta = await (await fetch("model.json")).json();
    const form = document.getElementById("features");
    for (const feature of state.meta.features) form.append(...field(feature));
    setTypical();
    const bytes = await (await fetch("model.onnx")).arrayBuffer();
    state.session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    if (state.meta.explains) state.trees = await (await fetch("trees.json")).json();
    show("version", state.meta.version);
    const button = document.getElementById("predict");
    button.addEventListener("click", () =>
      predict().catch((e) => {
        status.textContent = `prediction failed: ${e}`;
        status.className = "error";
      }),
    );
    document.getElementById("typical").addEventListener("click", setTypical);
    button.disabled = false;
    document.getElementById("typical").disabled = false;
    status.textContent = `ready: version ${state.meta.version}, runs offline from here`;
    status.dataset.ready = "true";
  } catch (e) {
    status.textContent = `could not load the model: ${e}`;
    status.className = "error";
  }
}

// Scores one row given as 14 numbers (null: missing), as the form would: for benchmarks and
// the console.
async function score(values) {
  const x = Float32Array.from(values, (v) => (v === null ? NaN : v));
  const out = await state.session.run({ [state.meta.input]: new ort.Tensor("float32", x, [1, x.length]) });
  return out.probabilities.data[1];
}

window.censusPredict = predict; // for tests and the console
window.censusScore = score;
main();
