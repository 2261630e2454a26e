"""Converts pytorch-fid's Inception weights into the safetensors file `sngan eval` reads.

Steps:
1. Download pytorch-fid's weights (the TF 2015-12-05 Inception graph, ported):
   https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth
2. python sngan/scripts/convert_fid_weights.py pt_inception-2015-12-05-6726825d.pth \\
       pt_inception-2015-12-05-6726825d.safetensors
   (needs torch and numpy; not torchvision or pytorch-fid).
3. sngan eval RUN --inception-weights pt_inception-2015-12-05-6726825d.safetensors ...

The script loads the state dict, checks that it holds exactly the tensors of pytorch-fid's
FID Inception (fid_inception.py builds the same architecture) with the same shapes, drops the
BatchNorm num_batches_tracked counters, and writes the float32 tensors under their pytorch-fid
names. The metadata records the source file's name and SHA-256; torch hub names the file
after the first 8 hex digits of its SHA-256 (6726825d), which is checked.

With --check, it also runs the architecture built here with these weights on a fixed input
and prints the first pool3 features, to compare against `sngan`'s bench or pytorch-fid.
"""

import argparse
import hashlib
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fid_inception import FIDInceptionV3, fid_state_dict_keys, write_safetensors  # noqa: E402

EXPECTED_PREFIX = "6726825d"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("pth", help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth")
    p.add_argument("out", help="the .safetensors file to write")
    p.add_argument("--check", action="store_true", help="run the network once and print")
    a = p.parse_args()

    with open(a.pth, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if not digest.startswith(EXPECTED_PREFIX):
        print(f"warning: {a.pth}: sha256 {digest} does not start with {EXPECTED_PREFIX} "
              "(not pytorch-fid's pt_inception-2015-12-05 file?)", file=sys.stderr)
    state = torch.load(a.pth, map_location="cpu", weights_only=True)
    model = FIDInceptionV3()
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()
            if k in set(fid_state_dict_keys(model))}
    have = {k: tuple(v.shape) for k, v in state.items() if not k.endswith("num_batches_tracked")}
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    wrong = sorted(k for k in set(want) & set(have) if want[k] != have[k])
    if missing or extra or wrong:
        sys.exit(f"{a.pth}: not pytorch-fid's FID Inception state dict: missing {missing[:5]}, "
                 f"unexpected {extra[:5]}, misshapen {[(k, have[k], want[k]) for k in wrong[:5]]}")
    tensors = {k: state[k].detach().float().numpy() for k in want}
    write_safetensors(a.out, tensors, {
        "format": "sngan-fid-inception-v1",
        "source": os.path.basename(a.pth),
        "source_sha256": digest,
    })
    print(f"wrote {a.out}: {len(tensors)} tensors, "
          f"{sum(t.size for t in tensors.values()):,} values from {a.pth} (sha256 {digest})")
    if a.check:
        model.load_state_dict(state, strict=False)
        model.eval()
        x = torch.linspace(0, 1, 3 * 64 * 64).reshape(1, 3, 64, 64)
        with torch.no_grad():
            pool3, logits = model(x)
        print("pool3[:5]", pool3[0, :5].numpy(), "argmax logit", int(np.argmax(logits[0])))


if __name__ == "__main__":
    main()
