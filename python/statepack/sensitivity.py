# SPDX-License-Identifier: Apache-2.0
"""Command line of the measured sensitivity tool (method: statepack/torch/sensitivity.py):

  /usr/bin/python3 -m statepack.sensitivity (--torchvision NAME | --model-file FILE.py[:FACTORY])
      [--state-dict FILE.pt] (--inputs FILE.npy|FILE.pt | --input-shape N,C,H,W [--input-seed S])
      [--method noise|fisher] [--sqnr DB] [--seeds N] [--projections N] [--threads N]
      -o OUT.json

The model: a torchvision model by name (built with weights=None, no download), or FACTORY()
from a Python file (default name `model`); then --state-dict's tensors are loaded into it (a
torch.save'd state dict, or a dict holding one under "state_dict"). The inputs: an array from
.npy, a tensor from .pt, or standard normal values of the given shape. OUT.json maps each
state-dict name the packer sizes (floating, rank >= 2, >= 1024 elements) to its sensitivity;
pass it to `statepack pack --quant auto --bpw B --sensitivity OUT.json`, with the same names
as pack sees them (give pack the state dict the model was loaded from).
"""
import argparse
import importlib.util
import sys


def _load_model(args):
    import torch

    if args.torchvision:
        import torchvision

        factory = getattr(torchvision.models, args.torchvision, None)
        if factory is None or not callable(factory):
            raise SystemExit(f"statepack.sensitivity: no torchvision model {args.torchvision!r}")
        model = factory(weights=None)
    else:
        path, _, name = args.model_file.partition(":")
        spec = importlib.util.spec_from_file_location("statepack_user_model", path)
        if spec is None:
            raise SystemExit(f"statepack.sensitivity: {path}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        factory = getattr(module, name or "model", None)
        if factory is None:
            raise SystemExit(f"statepack.sensitivity: {path} defines no {name or 'model'}()")
        model = factory()
    if args.state_dict:
        state = torch.load(args.state_dict, map_location="cpu")
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]
        model.load_state_dict(state)
    return model


def _load_inputs(args):
    import torch

    if args.inputs:
        if args.inputs.endswith(".npy"):
            import numpy

            return torch.from_numpy(numpy.load(args.inputs, allow_pickle=False))
        return torch.load(args.inputs, map_location="cpu")
    shape = [int(d) for d in args.input_shape.split(",")]
    return torch.randn(shape, generator=torch.Generator().manual_seed(args.input_seed))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m statepack.sensitivity",
                                     description=__doc__.split("\n\n")[0])
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--torchvision", metavar="NAME", help="torchvision model, e.g. resnet18")
    model.add_argument("--model-file", metavar="FILE.py[:FACTORY]",
                       help="Python file whose FACTORY() (default: model) returns the module")
    parser.add_argument("--state-dict", metavar="FILE.pt", help="weights to load")
    inputs = parser.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--inputs", metavar="FILE", help="example inputs (.npy or .pt)")
    inputs.add_argument("--input-shape", metavar="N,C,H,W", help="random normal inputs")
    parser.add_argument("--input-seed", type=int, default=0)
    parser.add_argument("--sqnr", type=float, default=25.0, metavar="DB",
                        help="SQNR of the injected noise (default 25 dB)")
    parser.add_argument("--seeds", type=int, default=2, help="noise draws per tensor (default 2)")
    parser.add_argument("--method", choices=("noise", "fisher"), default="noise",
                        help="noise injection (default) or its gradient linearisation")
    parser.add_argument("--projections", type=int, default=16,
                        help="random output projections of --method fisher (default 16)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.json")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    import torch

    from statepack.torch.sensitivity import save_sensitivity, sensitivity

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    net = _load_model(args)
    batch = _load_inputs(args)

    def progress(done, total, name):
        if not args.quiet:
            print(f"\r{done}/{total} {name[:60]:<60}", end="", file=sys.stderr, flush=True)

    values = sensitivity(net, batch, sqnr_db=args.sqnr, seeds=args.seeds, progress=progress,
                         method=args.method, projections=args.projections)
    if not args.quiet:
        print(file=sys.stderr)
    save_sensitivity(values, args.output)
    print(f"{args.output}: {len(values)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
