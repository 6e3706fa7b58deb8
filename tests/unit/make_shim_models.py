"""make_shim_models.py OUTDIR: writes the tiny TorchScript models test_shim.c runs.

Every model takes one NCHW float32 batch of 3x32x24 frames (height != width so
that a swapped H/W shows up) and computes each frame independently, so batch n
must give the same per-frame outputs as batch 1. Weights come from a fixed seed:
the test compares the shim with itself, never with numbers computed here.

  conv.pt     Tensor [N,2,16,12]      conv, relu, strided conv
  tuple.pt    (Tensor [N,2,16,12], Tensor [N,4], Tensor [N], Tensor [N,16,12] int64)
  list.pt     [Tensor [N,2,16,12], Tensor [N,4]]  a List[Tensor]
  identity.pt Tensor [N,3,32,24]      returns its input itself (an alias)
  five.pt     five outputs            (more than VS_TORCH_MAX_OUTPUTS)
  rank5.pt    Tensor [N,1,2,3,4]      (more than 4 dims)
  nobatch.pt  Tensor [7]              (dim 0 is not the batch)
  dict.pt     Dict[str, Tensor]       (an output type the shim refuses)
  state_dict.pt  torch.save() of weights: a zip file, but not TorchScript
"""
import sys
from typing import Dict, List, Tuple

import torch
from torch import nn


class Conv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 2, 3, stride=2, padding=1)

    def features(self, x):
        return torch.relu(self.conv1(x))

    def forward(self, x):
        return self.conv2(self.features(x))


class TupleOut(Conv):
    def forward(self, x) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        hidden = self.features(x)
        out = self.conv2(hidden)
        pooled = hidden.mean(dim=(2, 3))
        score = pooled.sum(dim=1)
        best = out.argmax(dim=1)
        return out, pooled, score, best


class ListOut(Conv):
    def forward(self, x) -> List[torch.Tensor]:
        hidden = self.features(x)
        return [self.conv2(hidden), hidden.mean(dim=(2, 3))]


class Identity(nn.Module):
    def forward(self, x):
        return x


class Five(nn.Module):
    def forward(self, x) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor,
                                  torch.Tensor]:
        return x, x + 1, x + 2, x + 3, x + 4


class Rank5(nn.Module):
    def forward(self, x):
        return x[:, :1, :2, :12].reshape(x.shape[0], 1, 2, 3, 4)


class NoBatch(nn.Module):
    def forward(self, x):
        return torch.zeros(7)


class DictOut(nn.Module):
    def forward(self, x) -> Dict[str, torch.Tensor]:
        return {"x": x}


def main():
    outdir = sys.argv[1]
    torch.manual_seed(1234)
    models = {
        "conv": Conv(), "tuple": TupleOut(), "list": ListOut(), "identity": Identity(),
        "five": Five(), "rank5": Rank5(), "nobatch": NoBatch(), "dict": DictOut(),
    }
    for name, module in models.items():
        torch.jit.script(module.eval()).save(f"{outdir}/{name}.pt")
    torch.save(models["conv"].state_dict(), f"{outdir}/state_dict.pt")


if __name__ == "__main__":
    main()
