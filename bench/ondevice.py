"""The on-device model of the default census model (1,200 trees): conversion, parity, size,
and prediction time in a real browser against the server's own scores.

Trains on adult.data, exports ONNX (timed) and verifies it on the 16,394 verification rows,
then serves the page (serving.device_app, uvicorn on loopback), loads it in Debian's
Chromium (headless) and scores 1,000 rows of the test split in the page, one row per
`session.run` as the form does: the time per row in the browser (median of 5 passes) and
the largest difference from LightGBM on the same rows.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from figures import record

# bench/serving.py would shadow the serving package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

import numpy as np  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from serving.device_app import DeviceModel, add_device_app  # noqa: E402
from settings import REPO_ROOT  # noqa: E402
from trainer import compiled, features, loader, ondevice  # noqa: E402
from trainer.hyperparameters import Hyperparameters  # noqa: E402
from trainer.model import train  # noqa: E402

ROWS, PASSES = 1000, 5
EXPLAINED = 100  # rows explained per pass (TreeSHAP over every tree: slower than scoring)


def main() -> None:
    data = loader.load_census(split="train")
    model = train(data.frame, Hyperparameters(), data_sha256=data.sha256)
    test = features.encode(loader.load_census(split="test").frame)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        parity = ondevice.export(
            model.booster, model.predict_lightgbm, compiled.verification_matrix(test), Path(folder)
        )
        took = time.perf_counter() - started
        onnx_bytes = parity.bytes
        print(
            f"export: {model.booster.num_trees()} trees -> {parity.bytes / 1e6:.2f} MB ONNX in "
            f"{took:.1f} s (convert + verify); {parity.reason}"
        )
        app = FastAPI()
        device = DeviceModel(
            "bench", Path(folder) / ondevice.ONNX_FILE, model.threshold, booster=model.booster
        )
        trees_bytes = len(device.trees_json)
        add_device_app(app, lambda: device, REPO_ROOT / "node_modules/onnxruntime-web/dist")
        server = uvicorn.Server(uvicorn.Config(app, port=8977, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        sys.path.insert(0, str(REPO_ROOT / "tests"))
        import browser  # the tests' Chromium, with the same flags

        driver = browser.chromium()
        try:
            driver.get("http://127.0.0.1:8977/app/")
            for _ in range(600):
                if driver.find_element("id", "status").get_attribute("data-ready") == "true":
                    break
                time.sleep(0.1)
            rows = test[:ROWS]
            payload = [[None if np.isnan(v) else float(v) for v in row] for row in rows]
            script = """
                const [rows, done] = arguments;
                const out = []; const t = performance.now();
                (async () => {
                  for (const r of rows) out.push(await window.censusScore(r));
                  done({probabilities: out, ms: performance.now() - t});
                })();"""
            per_row, scored = [], None
            for _ in range(PASSES):
                result = driver.execute_async_script(script, payload)
                per_row.append(result["ms"] / ROWS)
                scored = np.array(result["probabilities"])
            explain = """
                const [rows, done] = arguments;
                (async () => {
                  const trees = await (await fetch("trees.json")).json();
                  const t = performance.now();
                  for (const r of rows)
                    window.censusContributions(trees, Float64Array.from(r, (v) => v ?? NaN));
                  done({ms: performance.now() - t});
                })();"""
            explained = [
                driver.execute_async_script(explain, payload[:EXPLAINED])["ms"] / EXPLAINED
                for _ in range(3)
            ]
        finally:
            driver.quit()
            server.should_exit = True
    largest = float(np.max(np.abs(scored - model.predict_lightgbm(rows))))
    print(
        f"browser (Chromium {ROWS:,} rows, one session.run per row, wasm, 1 thread): median "
        f"{statistics.median(per_row):.3f} ms per row over {PASSES} passes; largest difference "
        f"from LightGBM {largest:.2g}"
    )
    print(
        f"explanation (TreeSHAP in the page, {EXPLAINED} rows): median "
        f"{statistics.median(explained):.1f} ms per row; trees.json {trees_bytes / 1e6:.2f} MB"
    )
    record(
        "ondevice",
        {
            "trees_mb": round(trees_bytes / 1e6, 2),
            "explain_ms_per_row": round(statistics.median(explained), 1),
            "onnx_mb": round(onnx_bytes / 1e6, 2),
            "export_s": round(took, 1),
            "browser_ms_per_row": round(statistics.median(per_row), 3),
        },
    )


if __name__ == "__main__":
    main()
