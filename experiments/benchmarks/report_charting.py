"""Which charting for nnctl's HTML report: measured, not guessed.

The heaviest picture of a report is a sweep's: 200 trials' curves overlaid (validation solid,
training dashed, 30 epochs each) and a 200-line parallel-coordinates plot. This script draws that
with each candidate on a self-contained page (everything inline, as the report is) and opens it in
headless Chromium five times, reporting the page's size and the median time from navigation start
until the charts are drawn:

- Apache ECharts 6.1.0 (the minified file vendored in nnctl/report/assets/vendor, Apache-2.0):
  line charts, heatmaps and parallel coordinates from one library;
- uPlot 1.6.32 (MIT, from the npm registry; pass --uplot PATH to uPlot.iife.min.js): line charts
  only; parallel coordinates and heatmaps would be code of nnctl's own;
- matplotlib SVG inlined in the page (static: no tooltips, no log toggle, no selection).

    python experiments/benchmarks/report_charting.py [--uplot /path/to/uPlot.iife.min.js]

Needs the playwright package and Debian's chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
ECHARTS = ROOT / "nnctl" / "report" / "assets" / "vendor" / "echarts.min.js"
RUNS, EPOCHS = 200, 30


def synthetic(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    epochs = list(range(EPOCHS + 1))
    runs = []
    for _ in range(RUNS):
        rate = rng.uniform(0.05, 0.4)
        floor = rng.uniform(0.02, 0.3)
        val = [round(float(floor + 2.3 * np.exp(-rate * e) + rng.normal(0, 0.01)), 5) for e in epochs]
        train = [round(v * 0.8, 5) for v in val]
        runs.append(
            {
                "val": val,
                "train": train,
                "lr": float(10 ** rng.uniform(-4, -1)),
                "width": int(rng.choice([32, 64, 128])),
                "init": str(rng.choice(["he", "glorot", "zeros"])),
            }
        )
    return {"epochs": epochs, "runs": runs}


PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>.c{{width:900px;height:420px}}</style>
<script>{lib}</script></head><body><div id="a" class="c"></div><div id="b" class="c"></div>
<script>const D={data};const t0=performance.now();{draw}
requestAnimationFrame(()=>requestAnimationFrame(()=>{{window.__drawn=performance.now();}}));</script></body></html>"""

ECHARTS_DRAW = """
const a=echarts.init(document.getElementById('a'));
const series=[];D.runs.forEach((r,i)=>{series.push({type:'line',data:D.epochs.map((e,k)=>[e,r.val[k]]),showSymbol:false,
 lineStyle:{width:1}},{type:'line',data:D.epochs.map((e,k)=>[e,r.train[k]]),showSymbol:false,lineStyle:{width:1,type:'dashed'}});});
a.setOption({animation:false,xAxis:{type:'value'},yAxis:{type:'value'},tooltip:{trigger:'item'},series});
const b=echarts.init(document.getElementById('b'));
b.setOption({animation:false,parallelAxis:[{dim:0,name:'lr',type:'log'},{dim:1,name:'width'},
 {dim:2,name:'init',type:'category',data:['he','glorot','zeros']},{dim:3,name:'val_loss'}],
 series:[{type:'parallel',data:D.runs.map(r=>[r.lr,r.width,r.init,r.val[r.val.length-1]]),lineStyle:{width:1,opacity:0.5}}]});
"""

UPLOT_DRAW = """
const series=[{}];const data=[D.epochs];D.runs.forEach(r=>{series.push({stroke:'#3366cc',width:1},{stroke:'#dd8800',width:1,dash:[4,4]});
 data.push(r.val,r.train);});
new uPlot({width:900,height:420,series,legend:{show:false}},data,document.getElementById('a'));
"""


def svg_page(data: dict) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for r in data["runs"]:
        ax.plot(data["epochs"], r["val"], "-", color="C0", linewidth=0.8)
        ax.plot(data["epochs"], r["train"], "--", color="C1", linewidth=0.8)
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    svg = buf.getvalue().split("?>", 1)[-1]
    return (
        "<!doctype html><html><head><meta charset='utf-8'></head><body>"
        + svg
        + "<script>requestAnimationFrame(()=>requestAnimationFrame(()=>{window.__drawn=performance.now();}));"
        "</script></body></html>"
    )


def measure(path: Path, repeats: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        for _ in range(repeats):
            page = browser.new_page()
            page.goto(path.as_uri())
            page.wait_for_function("window.__drawn !== undefined", timeout=60_000)
            times.append(page.evaluate("window.__drawn"))
            page.close()
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uplot", type=Path, help="uPlot.iife.min.js (npm pack uplot@1.6.32)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = synthetic()
    payload = json.dumps(data, separators=(",", ":"))
    pages = {
        "echarts 6.1.0 (curves + parallel coordinates)": PAGE.format(
            lib=ECHARTS.read_text(), data=payload, draw=ECHARTS_DRAW
        )
    }
    if args.uplot:
        pages["uplot 1.6.32 (curves only)"] = PAGE.format(lib=args.uplot.read_text(), data=payload, draw=UPLOT_DRAW)
    pages["matplotlib svg (curves only, static)"] = svg_page(data)
    print(
        f"# charting for the report: {RUNS} runs x 2 curves x {EPOCHS + 1} epochs, headless chromium, "
        f"median of {args.repeats}\n"
    )
    print("| candidate | library bytes | page bytes | ms to drawn (median) | min–max |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, html in pages.items():
            path = Path(tmp) / (name.split()[0] + ".html")
            path.write_text(html)
            times = measure(path, args.repeats)
            lib = (
                ECHARTS.stat().st_size
                if name.startswith("echarts")
                else (args.uplot.stat().st_size if name.startswith("uplot") else 0)
            )
            print(
                f"| {name} | {lib:,} | {path.stat().st_size:,} | {statistics.median(times):.0f} | "
                f"{min(times):.0f}–{max(times):.0f} |"
            )


if __name__ == "__main__":
    main()
