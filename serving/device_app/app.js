// The on-device model in the browser: the form's 14 features become the same float32
// row the server builds (categories as their index in the schema, missing as NaN), and
// onnxruntime-web scores it with the version's model.onnx. No request leaves the page
// after it has loaded.
"use strict";

ort.env.wasm.wasmPaths = new URL("ort/", window.location.href).href; // a URL, not a bare specifier
ort.env.wasm.numThreads = 1; // threads need cross-origin isolation; one is plenty here

const state = { session: null, meta: null, rows: 0 };

function field(feature) {
  const id = `f-${feature.name}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = feature.name;
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
    if (feature.range) {
      input.min = feature.range[0];
      input.max = feature.range[1];
    }
  }
  input.id = id;
  input.name = feature.name;
  return [label, input];
}

function row() {
  const x = new Float32Array(state.meta.features.length);
  state.meta.features.forEach((feature, j) => {
    const raw = document.getElementById(`f-${feature.name}`).value.trim();
    if (raw === "") {
      x[j] = NaN;
    } else if (feature.categories) {
      x[j] = feature.categories.indexOf(raw);
    } else {
      x[j] = Number(raw);
    }
  });
  return x;
}

async function predict() {
  const x = row();
  const input = new ort.Tensor("float32", x, [1, x.length]);
  const out = await state.session.run({ [state.meta.input]: input });
  const p = out.probabilities.data[1];
  document.getElementById("probability").textContent = p.toFixed(8);
  document.getElementById("label").textContent =
    p >= state.meta.threshold ? state.meta.classes[1] : state.meta.classes[0];
  state.rows += 1;
  document.getElementById("rows").textContent = state.rows;
  return p;
}

async function main() {
  const status = document.getElementById("status");
  try {
    state.meta = await (await fetch("model.json")).json();
    const form = document.getElementById("features");
    for (const feature of state.meta.features) form.append(...field(feature));
    const bytes = await (await fetch("model.onnx")).arrayBuffer();
    state.session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    document.getElementById("version").textContent = state.meta.version;
    const button = document.getElementById("predict");
    button.addEventListener("click", () =>
      predict().catch((e) => {
        status.textContent = `prediction failed: ${e}`;
        status.className = "error";
      }),
    );
    button.disabled = false;
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
