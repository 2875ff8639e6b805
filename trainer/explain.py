"""The model's trees in the compact form the on-device app's TreeSHAP reads
(serving/device_app/explain.js): LightGBM's own node arrays, so the page computes the
contributions LightGBM's `pred_contrib` gives, for one row, without the server.

Pure: takes `Booster.dump_model()`. Internal nodes are indexed as LightGBM indexes them
(`split_index`), a child below 0 is the leaf `~child`, as in LightGBM's tree.h.
"""

from __future__ import annotations

from typing import Any

MISSING_TYPES = {"None": 0, "Zero": 1, "NaN": 2}  # LightGBM's MissingType codes


def compact(dump: dict[str, Any]) -> dict[str, Any]:
    """{"objective", "feature_names", "trees": [...]} from a binary model's dump."""
    if not str(dump.get("objective", "")).startswith("binary"):
        raise ValueError(f"explanations are for binary models, not {dump.get('objective')!r}")
    return {
        "objective": "binary",
        "feature_names": list(dump["feature_names"]),
        "trees": [_tree(info["tree_structure"]) for info in dump["tree_info"]],
    }


def _tree(root: dict[str, Any]) -> dict[str, Any]:
    internal = _count(root, "split_index")
    leaves = _count(root, "leaf_index") or 1  # a one-leaf tree has no leaf_index
    tree: dict[str, Any] = {
        "feature": [0] * internal,
        "threshold": [0.0] * internal,
        "categories": [None] * internal,  # the categories going left, for a categorical split
        "default_left": [False] * internal,
        "missing_type": [0] * internal,
        "left": [0] * internal,
        "right": [0] * internal,
        "count": [0] * internal,
        "leaf_value": [0.0] * leaves,
        "leaf_count": [0] * leaves,
    }
    _fill(tree, root)
    return tree


def _count(node: dict[str, Any], key: str) -> int:
    if "split_index" in node:
        return (1 if key == "split_index" else 0) + sum(
            _count(node[side], key) for side in ("left_child", "right_child")
        )
    return 1 if key in node else 0


def _fill(tree: dict[str, Any], node: dict[str, Any]) -> int:
    """Writes the node and its subtree; returns its index as a parent refers to it."""
    if "split_index" not in node:
        leaf = node.get("leaf_index", 0)
        tree["leaf_value"][leaf] = node["leaf_value"]
        tree["leaf_count"][leaf] = node.get("leaf_count", 0)
        return ~leaf
    i = node["split_index"]
    tree["feature"][i] = node["split_feature"]
    if node["decision_type"] == "==":
        tree["categories"][i] = [int(c) for c in str(node["threshold"]).split("||")]
    elif node["decision_type"] == "<=":
        tree["threshold"][i] = float(node["threshold"])
    else:
        raise ValueError(f"unknown decision type {node['decision_type']!r}")
    tree["default_left"][i] = bool(node["default_left"])
    tree["missing_type"][i] = MISSING_TYPES[node["missing_type"]]
    tree["count"][i] = node["internal_count"]
    tree["left"][i] = _fill(tree, node["left_child"])
    tree["right"][i] = _fill(tree, node["right_child"])
    return i
