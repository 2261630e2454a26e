#!/usr/bin/env python3
"""Writes digits.u8.gz: the 1,797 8x8 handwritten digits that scikit-learn ships.

Source: UCI "Optical Recognition of Handwritten Digits" (E. Alpaydin, C. Kaynak, 1998),
CC BY 4.0, as distributed in scikit-learn (sklearn/datasets/data/digits.csv.gz; `load_digits()`).

Format (after gunzip): 1,797 records of 65 bytes: the label (0-9), then the 64 pixels of the 8x8
image, row-major, each an integer 0..16 (0 = background). gzip with mtime 0, so the output is
byte-identical on every run.

Run from the workspace root: python3 sngan/data/make_digits.py  (needs scikit-learn)
"""
import gzip
import io
import os

import numpy as np
from sklearn.datasets import load_digits


def main():
    d = load_digits()
    data = d.data.astype(np.uint8)
    target = d.target.astype(np.uint8)
    assert data.shape == (1797, 64) and data.max() == 16 and target.max() == 9
    records = np.concatenate([target[:, None], data], axis=1).tobytes()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.u8.gz")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(records)
    with open(out, "wb") as f:
        f.write(buf.getvalue())
    print(f"wrote {out}: {len(buf.getvalue())} bytes ({len(records)} uncompressed)")


if __name__ == "__main__":
    main()
