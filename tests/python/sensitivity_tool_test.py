#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The measured sensitivity tool (python/statepack): `import statepack` needs no torch;
statepack.torch.sensitivity gives 0 to a tensor the output ignores, more to one it amplifies,
is reproducible and leaves the model as it was, and its gradient estimate (method="fisher")
agrees; `python3 -m statepack.sensitivity` writes the
JSON `statepack pack --quant auto --sensitivity` accepts, from a model file, a state dict and
inputs given as .npy or as a random shape. A small MLP: seconds.

Usage: /usr/bin/python3 sensitivity_tool_test.py /path/to/statepack
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(HERE, "..", "..", "python")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, PACKAGE)
import statepack_testlib as lib  # noqa: E402
from statepack_testlib import report  # noqa: E402

MODEL_FILE = '''
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(16, 64)
        self.fc2 = torch.nn.Linear(64, 32)
        self.dead = torch.nn.Linear(16, 64)   # its output is multiplied by 0
        self.loud = torch.nn.Linear(16, 64)   # its output is multiplied by 10

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x) + 0 * self.dead(x) + 10 * self.loud(x)))

def model():
    torch.manual_seed(0)
    return Net()
'''


def main():
    statepack = lib.statepack_from_argv()
    if statepack is None:
        return 2
    env = dict(os.environ, PYTHONPATH=os.path.abspath(PACKAGE))

    # No torch needed to import the package or its command's module.
    blocked = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['torch'] = None; "
         "import statepack, statepack.sensitivity; print('imported')"],
        capture_output=True, text=True, env=env)
    report(blocked.returncode == 0 and "imported" in blocked.stdout,
           "import statepack works without torch", blocked.stderr)

    import numpy
    import torch

    from statepack.torch import save_sensitivity, sensitivity

    with tempfile.TemporaryDirectory() as work:
        model_path = os.path.join(work, "net.py")
        with open(model_path, "w") as f:
            f.write(MODEL_FILE)
        namespace = {}
        exec(compile(MODEL_FILE, model_path, "exec"), namespace)
        net = namespace["model"]()
        before = {k: v.clone() for k, v in net.state_dict().items()}
        inputs = torch.randn(8, 16, generator=torch.Generator().manual_seed(1))
        s = sensitivity(net, inputs, sqnr_db=30, seeds=2)
        report(sorted(s) == ["dead.weight", "fc1.weight", "fc2.weight", "loud.weight"],
               "the covered tensors (rank >= 2, >= 1024 elements), biases left out", str(s))
        report(s["dead.weight"] == 0, "a tensor the output ignores has sensitivity 0", str(s))
        report(s["loud.weight"] > 5 * s["fc1.weight"] > 0,
               "a tensor the model amplifies 10x matters more", str(s))
        report(all(torch.equal(before[k], v) for k, v in net.state_dict().items()),
               "the model's tensors are restored")
        report(sensitivity(net, inputs, sqnr_db=30, seeds=2) == s, "the result is reproducible")
        # The gradient estimate is the noise method's linearisation: close on a small MLP.
        f = sensitivity(net, inputs, method="fisher", projections=16)
        report(sorted(f) == sorted(s) and f["dead.weight"] == 0 and
               all(0.67 < f[k] / s[k] < 1.5 for k in s if k != "dead.weight"),
               "method='fisher' agrees with noise injection within 1.5x", f"{f} vs {s}")
        report(all(p.grad is None for p in net.parameters()) and
               all(torch.equal(before[k], v) for k, v in net.state_dict().items()),
               "method='fisher' leaves the model as it was")

        # The command, from a model file, a state dict and .npy inputs.
        state_path = os.path.join(work, "net.pt")
        torch.save(net.state_dict(), state_path)
        npy = os.path.join(work, "x.npy")
        numpy.save(npy, inputs.numpy())
        out = os.path.join(work, "s.json")
        r = subprocess.run([sys.executable, "-m", "statepack.sensitivity", "--model-file",
                            model_path + ":model", "--state-dict", state_path, "--inputs", npy,
                            "--sqnr", "30", "-o", out, "--quiet"],
                           capture_output=True, text=True, env=env)
        report(r.returncode == 0 and "4 tensors" in r.stdout, "python3 -m statepack.sensitivity",
               r.stdout + r.stderr)
        with open(out) as f:
            written = json.load(f)
        report(written == {k: float(v) for k, v in s.items()},
               "the command writes what sensitivity() returns", json.dumps(written))

        # Random inputs by shape, and errors.
        r = subprocess.run([sys.executable, "-m", "statepack.sensitivity", "--model-file",
                            model_path, "--input-shape", "4,16", "-o", out, "--quiet"],
                           capture_output=True, text=True, env=env)
        report(r.returncode == 0, "--input-shape gives random inputs", r.stderr)
        r = subprocess.run([sys.executable, "-m", "statepack.sensitivity", "--model-file",
                            model_path + ":nothing", "--input-shape", "4,16", "-o", out],
                           capture_output=True, text=True, env=env)
        report(r.returncode != 0 and "defines no nothing()" in r.stderr,
               "a missing factory is named", r.stderr)
        try:
            save_sensitivity({"w": float("nan")}, out)
            report(False, "save_sensitivity refuses NaN")
        except ValueError:
            report(True, "save_sensitivity refuses NaN")

        # The packer takes the file as it is.
        source = os.path.join(work, "net.safetensors")
        lib.write_torch_safetensors(source, net.state_dict())
        r = subprocess.run([statepack, "pack", source, "-o", os.path.join(work, "n.spk"),
                            "--quant", "auto", "--bpw", "6", "--sensitivity",
                            os.path.join(work, "s.json")], capture_output=True, text=True)
        report(r.returncode == 0 and "sensitivity from" in r.stdout,
               "pack --quant auto --sensitivity accepts the tool's JSON", r.stdout + r.stderr)
    return lib.finish()


if __name__ == "__main__":
    sys.exit(main())
