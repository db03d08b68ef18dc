#!/usr/bin/env python3
"""Checks a sinkstream chart: well-formed XML with a viewBox, every text's
estimated extent inside it (0.6 em per character, the font size's height), at
least --markers circle markers, and x ticks on round numbers (equal steps of
1, 2 or 5 x 10^k). Prints what is wrong and exits 1, or prints "ok ..."."""
import math
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"
EM = 0.6


def font_size(el, parents, root):
    while el is not None:
        if "font-size" in el.attrib:
            return float(el.attrib["font-size"])
        el = parents.get(el)
    return 16.0


def tick_value(label):
    m = re.fullmatch(r"(-?[0-9.e+-]+)([kM]?)", label)
    if not m:
        return None
    return float(m.group(1)) * {"": 1, "k": 1e3, "M": 1e6}[m.group(2)]


def round_step(step):
    if step <= 0:
        return False
    p = 10 ** math.floor(math.log10(step) + 1e-9)
    return any(abs(step - m * p) <= 1e-6 * step for m in (1, 2, 5, 10))


def main():
    path, min_markers = sys.argv[1], 0
    if "--markers" in sys.argv:
        min_markers = int(sys.argv[sys.argv.index("--markers") + 1])
    root = ET.parse(path).getroot()
    errors = []
    vb = [float(v) for v in root.attrib.get("viewBox", "").split()] or None
    if not vb or len(vb) != 4:
        print(f"{path}: no viewBox")
        return 1
    x0, y0, w, h = vb
    parents = {c: p for p in root.iter() for c in p}
    texts = 0
    for t in root.iter(NS + "text"):
        texts += 1
        s = "".join(t.itertext())
        fs = font_size(t, parents, root)
        width = len(s) * fs * EM
        anchor = t.attrib.get("text-anchor", "start")
        shift = {"start": 0.0, "middle": width / 2, "end": width}[anchor]
        tr = t.attrib.get("transform", "")
        m = re.fullmatch(r"translate\(([-0-9.]+),([-0-9.]+)\) rotate\(-90\)", tr)
        if m:  # reads upwards: the extent runs along y
            tx, ty = float(m.group(1)), float(m.group(2))
            box = (tx - fs, ty - width + shift, tx + 0.3 * fs, ty + shift)
        elif tr:
            errors.append(f"text '{s}': transform {tr} not understood")
            continue
        else:
            x, y = float(t.attrib["x"]), float(t.attrib["y"])
            box = (x - shift, y - fs, x - shift + width, y + 0.3 * fs)
        if box[0] < x0 or box[1] < y0 or box[2] > x0 + w or box[3] > y0 + h:
            errors.append(f"text '{s}' ({box[0]:.0f},{box[1]:.0f})-({box[2]:.0f},{box[3]:.0f}) leaves the "
                          f"view box {w:.0f}x{h:.0f}")
    markers = sum(1 for c in root.iter(NS + "circle") if c.attrib.get("class") == "marker")
    if markers < min_markers:
        errors.append(f"{markers} markers, expected at least {min_markers}")
    ticks = [tick_value("".join(t.itertext())) for t in root.iter(NS + "text") if t.attrib.get("class") == "xtick"]
    if None in ticks:
        errors.append(f"x tick labels that are not numbers: {ticks}")
    elif len(ticks) >= 2:
        steps = [b - a for a, b in zip(ticks, ticks[1:])]
        linear = all(abs(s - steps[0]) <= 1e-6 * abs(steps[0]) for s in steps) and round_step(steps[0])
        # A log axis: increasing ticks at 1, 2 or 5 x 10^k.
        log = all(v > 0 and round_step(v) for v in ticks) and all(s > 0 for s in steps)
        if not (linear or log):
            errors.append(f"x ticks {ticks}: not equal round steps (nor 1-2-5 on a log axis)")
    for e in errors:
        print(f"{path}: {e}")
    if errors:
        return 1
    print(f"ok {path}: {texts} texts, {markers} markers, x ticks {ticks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
