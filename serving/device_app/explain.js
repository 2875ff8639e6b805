// The features that moved a prediction, as the model itself attributes it: TreeSHAP
// (Lundberg et al., arXiv:1706.06060) over the trees /app/trees.json hands out
// (trainer/explain.py), following LightGBM's tree.h and tree.cpp step by step, so the page
// computes what LightGBM's `pred_contrib` gives for the same row: one log-odds
// contribution per feature plus the expected value, summing to the raw score.
// Runs in the page and under Node (tests/serving/test_explain.py).
"use strict";

const ZERO = 1e-35; // LightGBM's kZeroThreshold

function decide(tree, node, value) {
  // LightGBM's Tree::Decision: the child a value goes to
  const cats = tree.categories[node];
  if (cats !== null) {
    if (Number.isNaN(value)) return tree.right[node]; // (int)NaN < 0 in LightGBM: right
    const code = Math.trunc(value);
    if (code < 0) return tree.right[node];
    return cats.includes(code) ? tree.left[node] : tree.right[node];
  }
  const missing = tree.missing_type[node];
  let v = value;
  if (Number.isNaN(v) && missing !== 2) v = 0;
  if ((missing === 1 && v >= -ZERO && v <= ZERO) || (missing === 2 && Number.isNaN(v))) {
    return tree.default_left[node] ? tree.left[node] : tree.right[node];
  }
  return v <= tree.threshold[node] ? tree.left[node] : tree.right[node];
}

function cover(tree, node) {
  return node < 0 ? tree.leaf_count[~node] : tree.count[node];
}

function expectedValue(tree) {
  if (tree.count.length === 0) return tree.leaf_value[0];
  const total = tree.count[0];
  let value = 0;
  tree.leaf_value.forEach((v, i) => {
    value += (tree.leaf_count[i] / total) * v;
  });
  return value;
}

function extendPath(path, at, depth, zero, one, feature) {
  path[at + depth] = { feature, zero, one, weight: depth === 0 ? 1 : 0 };
  for (let i = depth - 1; i >= 0; i--) {
    path[at + i + 1].weight += (one * path[at + i].weight * (i + 1)) / (depth + 1);
    path[at + i].weight = (zero * path[at + i].weight * (depth - i)) / (depth + 1);
  }
}

function unwindPath(path, at, depth, index) {
  const { one, zero } = path[at + index];
  let next = path[at + depth].weight;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = path[at + i].weight;
      path[at + i].weight = (next * (depth + 1)) / ((i + 1) * one);
      next = tmp - (path[at + i].weight * zero * (depth - i)) / (depth + 1);
    } else {
      path[at + i].weight = (path[at + i].weight * (depth + 1)) / (zero * (depth - i));
    }
  }
  for (let i = index; i < depth; i++) {
    const later = path[at + i + 1];
    path[at + i] = { ...path[at + i], feature: later.feature, zero: later.zero, one: later.one };
  }
}

function unwoundPathSum(path, at, depth, index) {
  const { one, zero } = path[at + index];
  let next = path[at + depth].weight;
  let total = 0;
  for (let i = depth - 1; i >= 0; i--) {
    if (one !== 0) {
      const tmp = (next * (depth + 1)) / ((i + 1) * one);
      total += tmp;
      next = path[at + i].weight - tmp * zero * ((depth - i) / (depth + 1));
    } else {
      total += path[at + i].weight / zero / ((depth - i) / (depth + 1));
    }
  }
  return total;
}

function treeShap(tree, x, phi, node, depth, path, parentAt, parentZero, parentOne, parentFeature) {
  const at = parentAt + depth; // this level's copy of the path, after its parent's
  for (let i = 0; i < depth; i++) path[at + i] = { ...path[parentAt + i] };
  extendPath(path, at, depth, parentZero, parentOne, parentFeature);
  if (node < 0) {
    for (let i = 1; i <= depth; i++) {
      const w = unwoundPathSum(path, at, depth, i);
      const el = path[at + i];
      phi[el.feature] += w * (el.one - el.zero) * tree.leaf_value[~node];
    }
    return;
  }
  const feature = tree.feature[node];
  const hot = decide(tree, node, x[feature]);
  const cold = hot === tree.left[node] ? tree.right[node] : tree.left[node];
  const w = cover(tree, node);
  let incomingZero = 1;
  let incomingOne = 1;
  let index = 0;
  for (; index <= depth; index++) if (path[at + index].feature === feature) break;
  let d = depth;
  if (index !== depth + 1) {
    incomingZero = path[at + index].zero;
    incomingOne = path[at + index].one;
    unwindPath(path, at, depth, index);
    d -= 1;
  }
  treeShap(tree, x, phi, hot, d + 1, path, at, (cover(tree, hot) / w) * incomingZero, incomingOne, feature);
  treeShap(tree, x, phi, cold, d + 1, path, at, (cover(tree, cold) / w) * incomingZero, 0, feature);
}

// Contributions of each feature to the raw score (log-odds) of row `x` (numbers, NaN for
// missing, categories as codes), and the expected value last, as LightGBM's pred_contrib.
function contributions(model, x) {
  const n = model.feature_names.length;
  const phi = new Float64Array(n + 1);
  for (const tree of model.trees) {
    phi[n] += expectedValue(tree);
    if (tree.count.length > 0) treeShap(tree, x, phi, 0, 0, [], 0, 1, 1, -1);
  }
  return phi;
}

if (typeof module !== "undefined") module.exports = { contributions };
if (typeof window !== "undefined") window.censusContributions = contributions;
