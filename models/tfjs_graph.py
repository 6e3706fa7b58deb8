"""tfjs_graph.py: reads a TF.js graph model (model.json + weight shards) and runs its nodes
with torch ops. Used by convert_centernet.py (to build the TorchScript model) and by the
fidelity checks (to run the graph's own decode path). Run with Debian's /usr/bin/python3.

Two ways of running a graph:
  - TfGraphNCHW: a torch.nn.Module that evaluates the sub-graph needed for the requested outputs
    with every tensor kept NCHW (what we export). Only 4-D feature-map ops are supported.
  - run_nhwc(): a plain interpreter that evaluates the graph exactly as TF lays it out (NHWC,
    batch 1), including the post-processing ops (MaxPool, TopKV2, GatherV2, ...). It exists to
    check the NCHW module and our reading of the graph's decode against the graph itself.

TF semantics that torch does not give by default, reproduced here:
  - SAME padding: total = max((ceil(in/s)-1)*s + (k-1)*d + 1 - in, 0), before = total//2,
    after = total - before. With stride 2 on even sizes that pads bottom/right only.
  - Depthwise filters [kh,kw,C,M] become [C*M,1,kh,kw] with groups=C (output c*M+m).
  - ResizeBilinear with align_corners=False, half_pixel_centers=False (TF's legacy mode):
    src = dst * (in/out), i0 = floor(src), i1 = min(i0+1, in-1), t = src - i0; rows are
    interpolated first (top, bottom), then the two are blended: top + (bottom-top)*ty.
    torch's F.interpolate has no such mode, so the taps are gathered explicitly.
  - Pad (NHWC, spatial zeros only), MaxPool (stride 1, odd window, SAME: k//2 on each side,
    exact with max_pool2d) and ResizeNearestNeighbor by an integer factor (source o // s with or
    without half-pixel centres: a repeat), as YOLOv5s needs; anything else is refused by name.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F


def load_graph(model_json):
    """Returns (nodes_by_name, node_order, weights) for a TF.js graph model.

    weights maps a constant's name to a numpy array; float16-quantized weights are widened to
    float32 exactly as TF.js does at load time.
    """
    with open(model_json) as f:
        model = json.load(f)
    if model.get("format") != "graph-model":
        raise ValueError(f"{model_json}: not a TF.js graph model (format={model.get('format')})")
    base = os.path.dirname(os.path.abspath(model_json))
    weights = {}
    for group in model["weightsManifest"]:
        blob = b"".join(open(os.path.join(base, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            quant = w.get("quantization")
            if quant:
                if quant["dtype"] == "float16":
                    arr = np.frombuffer(blob, np.float16, count, offset).astype(np.float32)
                    offset += 2 * count
                elif quant["dtype"] in ("uint8", "uint16"):
                    qt = np.uint8 if quant["dtype"] == "uint8" else np.uint16
                    raw = np.frombuffer(blob, qt, count, offset)
                    offset += raw.itemsize * count
                    arr = (raw.astype(np.float32) * quant["scale"] + quant["min"]).astype(np.float32)
                else:
                    raise ValueError(f"{w['name']}: unsupported quantization {quant['dtype']}")
            else:
                dtype = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}[w["dtype"]]
                arr = np.frombuffer(blob, dtype, count, offset)
                offset += arr.itemsize * count
            weights[w["name"]] = arr.reshape(w["shape"])
        if offset != len(blob):
            raise ValueError(f"{model_json}: weights use {offset} bytes of {len(blob)}")
    nodes = model["modelTopology"]["node"]
    return {n["name"]: n for n in nodes}, [n["name"] for n in nodes], weights


def topo_order(nodes, order):
    """Node names with every node after its inputs (the stored order is not guaranteed)."""
    done, result = set(), []
    for root in order:
        stack = [(root, False)]
        while stack:
            name, expanded = stack.pop()
            if name in done:
                continue
            if expanded:
                done.add(name)
                result.append(name)
                continue
            stack.append((name, True))
            for inp in nodes[name].get("input", []):
                dep = base_name(inp.lstrip("^"))[0]
                if dep not in done:
                    stack.append((dep, False))
    return result


def attr_ints(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    return [int(v) for v in a["list"].get("i", [])]


def attr_str(node, key, default=None):
    import base64
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    return base64.b64decode(a["s"]).decode()


def attr_strs(node, key):
    import base64
    a = node.get("attr", {}).get(key)
    if a is None:
        return []
    return [base64.b64decode(s).decode() for s in a["list"].get("s", [])]


def attr_bool(node, key, default=False):
    a = node.get("attr", {}).get(key)
    return default if a is None else bool(a.get("b", False))


def same_pads(size, k, stride, dilation=1):
    """TF SAME padding along one axis: (before, after)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (k - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def legacy_taps(in_size, out_size):
    """Sampling taps of TF's legacy ResizeBilinear along one axis: (i0, i1, t)."""
    scale = np.float32(in_size) / np.float32(out_size)
    src = np.arange(out_size, dtype=np.float32) * scale
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, in_size - 1)
    return i0, i1, (src - i0.astype(np.float32)).astype(np.float32)


def resize_taps(in_h, in_w, out_h, out_w, h_axis, w_axis, rank=4):
    """Index/weight tensors for resize_bilinear_legacy, shaped to broadcast along the axes."""
    y0, y1, ty = legacy_taps(in_h, out_h)
    x0, x1, tx = legacy_taps(in_w, out_w)
    shape_y = [1] * rank
    shape_y[h_axis] = out_h
    shape_x = [1] * rank
    shape_x[w_axis] = out_w
    return (torch.from_numpy(y0), torch.from_numpy(y1), torch.from_numpy(ty).reshape(shape_y),
            torch.from_numpy(x0), torch.from_numpy(x1), torch.from_numpy(tx).reshape(shape_x))


def integer_factor(in_size, out_size):
    """s when the legacy taps of in->out are exactly o -> (o // s, t = (o % s)/s), else 0.
    Then a resize is a shift-and-blend, much faster than gathering columns."""
    if out_size % in_size:
        return 0
    s = out_size // in_size
    i0, _, t = legacy_taps(in_size, out_size)
    o = np.arange(out_size)
    want_t = (o % s).astype(np.float32) / np.float32(s)
    return s if np.array_equal(i0, o // s) and np.array_equal(t, want_t) else 0


def upsample_axis_legacy(x, axis, factor):
    """Legacy bilinear upsampling by an integer factor along one axis: out[s*i + r] =
    x[i] + (x[min(i+1, n-1)] - x[i]) * (r/s), the same arithmetic as the tap form."""
    n = x.shape[axis]
    nxt = torch.cat([x.narrow(axis, 1, n - 1), x.narrow(axis, n - 1, 1)], dim=axis)
    diff = nxt - x
    parts = [x] + [x + diff * (float(np.float32(r) / np.float32(factor))) for r in range(1, factor)]
    return torch.stack(parts, dim=axis + 1).flatten(axis, axis + 1)


def resize_bilinear_legacy(x, taps, h_axis, w_axis):
    """Legacy TF bilinear resize of x along (h_axis, w_axis), same arithmetic order as TF
    (tfjs-backend-cpu resizeBilinear: top/bottom rows first, then the vertical blend)."""
    y0, y1, ty, x0, x1, tx = taps
    top = x.index_select(h_axis, y0)
    bottom = x.index_select(h_axis, y1)
    top_l, top_r = top.index_select(w_axis, x0), top.index_select(w_axis, x1)
    bot_l, bot_r = bottom.index_select(w_axis, x0), bottom.index_select(w_axis, x1)
    top = top_l + (top_r - top_l) * tx
    bottom = bot_l + (bot_r - bot_l) * tx
    return top + (bottom - top) * ty


ACTIVATIONS = {
    "Relu": torch.relu,
    "Relu6": lambda t: torch.clamp(t, 0.0, 6.0),
    "Sigmoid": torch.sigmoid,
    "Elu": F.elu,
}

NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def base_name(inp):
    """'node:1' -> ('node', 1); '^ctrl' inputs are dropped by callers."""
    if ":" in inp:
        name, idx = inp.rsplit(":", 1)
        return name, int(idx)
    return inp, 0


class TfGraphNCHW(torch.nn.Module):
    """The sub-graph of a TF.js graph model that computes `outputs`, evaluated in NCHW.

    forward(x) takes the graph's single Placeholder as NCHW and returns the outputs, each
    converted to NCHW, in the order given. Constants become buffers, so the module traces and
    saves as TorchScript with no reference to the .bin file.
    """

    def __init__(self, model_json, outputs):
        super().__init__()
        nodes, order, weights = load_graph(model_json)
        needed = set()
        stack = list(outputs)
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            for inp in nodes[name].get("input", []):
                if not inp.startswith("^"):
                    stack.append(base_name(inp)[0])
        self.outputs = list(outputs)
        self.steps = []  # (name, op, input names, params) in graph order
        self.consts = {}
        for name in order:
            if name in needed and nodes[name]["op"] == "Const":
                if name not in weights:
                    raise ValueError(f"{name}: constant without weights")
                self.consts[name] = weights[name]
        n_buffers = 0
        for name in topo_order(nodes, order):
            if name not in needed or nodes[name]["op"] == "Const":
                continue
            node = nodes[name]
            op = node["op"]
            inputs = [base_name(i)[0] for i in node.get("input", []) if not i.startswith("^")]
            params = self._params_for(name, op, node, inputs)
            for key, value in list(params.items()):
                if isinstance(value, np.ndarray) and value.dtype == np.float32:
                    buf = f"w{n_buffers}"
                    n_buffers += 1
                    self.register_buffer(buf, torch.from_numpy(value.copy()))
                    params[key] = buf
            self.steps.append((name, op, inputs, params))
        # Spatial sizes are fixed by the Placeholder: a shape pass now turns SAME padding and
        # resize taps into constants, so tracing sees no Python arithmetic on tensor shapes and
        # only the batch dimension stays free.
        ph = [n for n in self.steps if n[1] == "Placeholder"]
        if len(ph) != 1:
            raise ValueError(f"expected one Placeholder, found {len(ph)}")
        dims = [int(d["size"]) for d in nodes[ph[0][0]]["attr"]["shape"]["shape"]["dim"]]
        self.input_hw = (dims[1], dims[2])
        self.input_channels = dims[3]
        with torch.no_grad():
            self._shape_pass(torch.zeros(1, dims[3], dims[1], dims[2]))

    def _const(self, name):
        if name not in self.consts:
            raise ValueError(f"expected a constant input, got {name}")
        return self.consts[name]

    def _params_for(self, name, op, node, inputs):
        p = {}
        if op in ("_FusedConv2D", "Conv2D", "FusedDepthwiseConv2dNative", "DepthwiseConv2dNative"):
            fmt = attr_str(node, "data_format", "NHWC")
            if fmt != "NHWC":
                raise ValueError(f"{name}: data_format {fmt} not supported")
            filt = self._const(inputs[1])
            strides = attr_ints(node, "strides", [1, 1, 1, 1])
            dil = attr_ints(node, "dilations", [1, 1, 1, 1])
            kh, kw = filt.shape[0], filt.shape[1]
            if "Depthwise" in op:
                c_in, mult = filt.shape[2], filt.shape[3]
                p["weight"] = np.ascontiguousarray(
                    filt.reshape(kh, kw, c_in * mult).transpose(2, 0, 1)[:, None, :, :])
                p["groups"] = int(c_in)
            else:
                p["weight"] = np.ascontiguousarray(filt.transpose(3, 2, 0, 1))
                p["groups"] = 1
            p["stride"] = (strides[1], strides[2])
            p["dilation"] = (dil[1], dil[2])
            p["k"] = (kh, kw)
            p["padding"] = attr_str(node, "padding", "VALID")
            if p["padding"] not in ("SAME", "VALID"):
                raise ValueError(f"{name}: padding {p['padding']} not supported")
            fused = attr_strs(node, "fused_ops") if op.startswith("_Fused") or op.startswith("Fused") else []
            p["bias"] = None
            p["act"] = None
            for f in fused:
                if f == "BiasAdd":
                    p["bias"] = self._const(inputs[2]).astype(np.float32)
                elif f in ACTIVATIONS:
                    p["act"] = f
                else:
                    raise ValueError(f"{name}: fused op {f} not supported")
        elif op in ("Add", "AddV2", "Mul", "Sub", "RealDiv", "Maximum", "Minimum"):
            for slot, inp in enumerate(inputs):
                if inp in self.consts:
                    c = self.consts[inp].astype(np.float32)
                    if c.ndim == 1:  # per-channel constant over NHWC's last axis
                        c = c.reshape(1, -1, 1, 1)
                    elif c.ndim not in (0,):
                        raise ValueError(f"{name}: constant operand of rank {c.ndim}")
                    p[f"c{slot}"] = c
        elif op in ("Relu", "Relu6", "Sigmoid", "Identity", "Elu", "Tanh"):
            pass
        elif op == "Mean":
            axes = np.atleast_1d(self._const(inputs[1])).tolist()
            p["dims"] = sorted(NHWC_TO_NCHW_AXIS[a % 4] for a in axes)
            p["keep"] = attr_bool(node, "keep_dims")
        elif op == "ConcatV2":
            axis = int(self._const(inputs[-1]))
            p["dim"] = NHWC_TO_NCHW_AXIS[axis % 4]
        elif op == "ResizeBilinear":
            if attr_bool(node, "align_corners") or attr_bool(node, "half_pixel_centers"):
                raise ValueError(f"{name}: only legacy ResizeBilinear is supported")
            size = self._const(inputs[1]).tolist()
            p["size"] = (int(size[0]), int(size[1]))
        elif op == "Pad":
            pads = np.asarray(self._const(inputs[1])).astype(np.int64)
            if pads.shape != (4, 2) or pads[0].any() or pads[3].any() or (pads < 0).any():
                raise ValueError(f"{name}: only spatial NHWC zero padding is supported, got {pads.tolist()}")
            (top, bottom), (left, right) = pads[1].tolist(), pads[2].tolist()
            p["pad"] = (left, right, top, bottom)
        elif op == "MaxPool":
            ksize, strides = attr_ints(node, "ksize"), attr_ints(node, "strides")
            fmt = attr_str(node, "data_format", "NHWC")
            # Stride 1 with an odd window and SAME padding pads k//2 on every side whatever the
            # input size, and -inf padding never wins a max: torch's max_pool2d is exact then.
            if (fmt != "NHWC" or attr_str(node, "padding") != "SAME" or strides != [1, 1, 1, 1]
                    or ksize[0] != 1 or ksize[3] != 1 or ksize[1] % 2 == 0 or ksize[2] % 2 == 0):
                raise ValueError(f"{name}: only MaxPool with stride 1, an odd window and SAME "
                                 f"padding is supported (ksize {ksize}, strides {strides})")
            p["k"] = (ksize[1], ksize[2])
        elif op == "ResizeNearestNeighbor":
            if attr_bool(node, "align_corners"):
                raise ValueError(f"{name}: ResizeNearestNeighbor with align_corners is not supported")
            size = self._const(inputs[1]).tolist()
            p["size"] = (int(size[0]), int(size[1]))
        elif op == "Placeholder":
            pass
        else:
            raise ValueError(f"{name}: op {op} not supported in the NCHW module")
        return p

    def _shape_pass(self, x):
        n_taps = 0
        env = {}
        for name, op, inputs, p in self.steps:
            if op == "Placeholder":
                env[name] = x
                continue
            t = next((env[i] for i in inputs if i in env), None)
            if "weight" in p:
                pad = None
                if p["padding"] == "SAME":
                    ph = same_pads(int(t.shape[2]), p["k"][0], p["stride"][0], p["dilation"][0])
                    pw = same_pads(int(t.shape[3]), p["k"][1], p["stride"][1], p["dilation"][1])
                    pad = (pw[0], pw[1], ph[0], ph[1])
                p["pad"] = pad
            elif op == "ResizeBilinear":
                p["factors"] = (integer_factor(int(t.shape[2]), p["size"][0]),
                                integer_factor(int(t.shape[3]), p["size"][1]))
                taps = resize_taps(int(t.shape[2]), int(t.shape[3]), p["size"][0], p["size"][1], 2, 3)
                p["taps"] = []
                for tap in taps:
                    buf = f"r{n_taps}"
                    n_taps += 1
                    self.register_buffer(buf, tap)
                    p["taps"].append(buf)
            elif op == "ResizeNearestNeighbor":
                # An integer factor s: TF's nearest source row is floor((o + 0.5) / s) with
                # half-pixel centres and floor(o / s) without, both o // s, i.e. each row and
                # column repeated s times; the factor, not the size, goes into the module so
                # the input size stays free.
                fh, fw = p["size"][0] // int(t.shape[2]), p["size"][1] // int(t.shape[3])
                if fh < 1 or fh != fw or fh * int(t.shape[2]) != p["size"][0] or \
                        fw * int(t.shape[3]) != p["size"][1]:
                    raise ValueError(f"{name}: only an equal integer factor is supported "
                                     f"({tuple(t.shape[2:])} -> {p['size']})")
                p["factor"] = fh
            env[name] = self._step(op, p, [env.get(i) for i in inputs])

    def _step(self, op, p, args):
        if "weight" in p:
            t = args[0]
            pad = 0
            if p["pad"] is not None:
                left, right, top, bottom = p["pad"]
                if left == right and top == bottom:
                    pad = (top, left)
                else:  # asymmetric (stride 2, even size): bottom/right get the extra row/column
                    t = F.pad(t, p["pad"])
            bias = getattr(self, p["bias"]) if p["bias"] is not None else None
            t = F.conv2d(t, getattr(self, p["weight"]), bias, p["stride"], pad, p["dilation"],
                         p["groups"])
            if p["act"] is not None:
                t = ACTIVATIONS[p["act"]](t)
            return t
        if op in ("Add", "AddV2", "Mul", "Sub", "RealDiv", "Maximum", "Minimum"):
            a = getattr(self, p["c0"]) if "c0" in p else args[0]
            b = getattr(self, p["c1"]) if "c1" in p else args[1]
            return {"Add": torch.add, "AddV2": torch.add, "Mul": torch.mul, "Sub": torch.sub,
                    "RealDiv": torch.div, "Maximum": torch.maximum,
                    "Minimum": torch.minimum}[op](a, b)
        if op in ACTIVATIONS:
            return ACTIVATIONS[op](args[0])
        if op == "Tanh":
            return torch.tanh(args[0])
        if op == "Identity":
            return args[0]
        if op == "Mean":
            return torch.mean(args[0], dim=p["dims"], keepdim=p["keep"])
        if op == "ConcatV2":
            return torch.cat(args[:-1], dim=p["dim"])
        if op == "Pad":
            return F.pad(args[0], p["pad"])
        if op == "MaxPool":
            kh, kw = p["k"]
            return F.max_pool2d(args[0], (kh, kw), 1, (kh // 2, kw // 2))
        if op == "ResizeNearestNeighbor":
            return F.interpolate(args[0], scale_factor=float(p["factor"]), mode="nearest")
        if op == "ResizeBilinear":
            fh, fw = p["factors"]
            if fh and fw:  # rows are blended along x first, then vertically, as in TF
                return upsample_axis_legacy(upsample_axis_legacy(args[0], 3, fw), 2, fh)
            taps = [getattr(self, b) for b in p["taps"]]
            return resize_bilinear_legacy(args[0], taps, 2, 3)
        raise RuntimeError(f"op {op}")

    def forward(self, x):
        env = {}
        for name, op, inputs, p in self.steps:
            if op == "Placeholder":
                env[name] = x
            else:
                env[name] = self._step(op, p, [env.get(i) for i in inputs])
        return tuple(env[o] for o in self.outputs)


def run_nhwc(model_json, image_nhwc, outputs):
    """Evaluates the whole graph as TF does (NHWC) on a numpy image [1,H,W,3]; returns numpy
    arrays for `outputs`. Slow-ish but literal: every node, including the decode ops."""
    nodes, order, weights = load_graph(model_json)
    env = {}

    def val(inp):
        name, idx = base_name(inp)
        v = env[name]
        return v[idx] if isinstance(v, tuple) else v

    def nchw(t):
        return t.permute(0, 3, 1, 2)

    def nhwc(t):
        return t.permute(0, 2, 3, 1)

    for name in order:
        if nodes[name]["op"] == "Const":
            env[name] = torch.from_numpy(weights[name].copy())
    for name in topo_order(nodes, order):
        if nodes[name]["op"] != "Const":
            _eval_nhwc(nodes[name], env, val, nchw, nhwc, image_nhwc)
    return [env[o].numpy() if not isinstance(env[o], tuple) else env[o][0].numpy()
            for o in outputs]


def _eval_nhwc(node, env, val, nchw, nhwc, image_nhwc):
    name = node["name"]
    op = node["op"]
    ins = [i for i in node.get("input", []) if not i.startswith("^")]
    a = [val(i) for i in ins]
    if op == "Placeholder":
        env[name] = torch.from_numpy(np.ascontiguousarray(image_nhwc, dtype=np.float32))
    elif op in ("_FusedConv2D", "Conv2D", "FusedDepthwiseConv2dNative", "DepthwiseConv2dNative"):
        filt = a[1]
        kh, kw = filt.shape[0], filt.shape[1]
        s = attr_ints(node, "strides", [1, 1, 1, 1])
        d = attr_ints(node, "dilations", [1, 1, 1, 1])
        t = nchw(a[0])
        if attr_str(node, "padding") == "SAME":
            ph = same_pads(t.shape[2], kh, s[1], d[1])
            pw = same_pads(t.shape[3], kw, s[2], d[2])
            t = F.pad(t, (pw[0], pw[1], ph[0], ph[1]))
        if "Depthwise" in op:
            c, m = filt.shape[2], filt.shape[3]
            wt = filt.reshape(kh, kw, c * m).permute(2, 0, 1).unsqueeze(1)
            groups = c
        else:
            wt = filt.permute(3, 2, 0, 1)
            groups = 1
        t = nhwc(F.conv2d(t, wt.contiguous(), None, (s[1], s[2]), 0, (d[1], d[2]), groups))
        for f in attr_strs(node, "fused_ops"):
            if f == "BiasAdd":
                t = t + a[2]
            else:
                t = ACTIVATIONS[f](t)
        env[name] = t
    elif op in ("Add", "AddV2"):
        env[name] = a[0] + a[1]
    elif op == "Sub":
        env[name] = a[0] - a[1]
    elif op == "Mul":
        env[name] = a[0] * a[1]
    elif op in ACTIVATIONS:
        env[name] = ACTIVATIONS[op](a[0])
    elif op == "Identity":
        env[name] = a[0]
    elif op == "Mean":
        env[name] = torch.mean(a[0], dim=[int(v) for v in np.atleast_1d(a[1].numpy())],
                               keepdim=attr_bool(node, "keep_dims"))
    elif op == "ConcatV2":
        env[name] = torch.cat(a[:-1], dim=int(a[-1]))
    elif op == "ResizeBilinear":
        size = a[1].tolist()
        taps = resize_taps(a[0].shape[1], a[0].shape[2], size[0], size[1], 1, 2)
        env[name] = resize_bilinear_legacy(a[0], taps, 1, 2)
    elif op == "Pad":
        pads = a[1].tolist()
        env[name] = F.pad(a[0], [v for pair in reversed(pads) for v in pair])
    elif op == "ResizeNearestNeighbor":
        size = a[1].tolist()
        h, w = a[0].shape[1], a[0].shape[2]
        half = 0.5 if attr_bool(node, "half_pixel_centers") else 0.0
        ys = torch.clamp(torch.floor((torch.arange(size[0]) + half) * (h / size[0])).long(), max=h - 1)
        xs = torch.clamp(torch.floor((torch.arange(size[1]) + half) * (w / size[1])).long(), max=w - 1)
        env[name] = a[0].index_select(1, ys).index_select(2, xs)
    elif op == "Transpose":
        env[name] = a[0].permute([int(v) for v in a[1].tolist()])
    elif op == "Square":
        env[name] = a[0] * a[0]
    elif op == "MaxPool":
        k = attr_ints(node, "ksize")
        s = attr_ints(node, "strides")
        t = nchw(a[0])
        if attr_str(node, "padding") == "SAME":
            ph = same_pads(t.shape[2], k[1], s[1])
            pw = same_pads(t.shape[3], k[2], s[2])
            t = F.pad(t, (pw[0], pw[1], ph[0], ph[1]), value=float("-inf"))
        env[name] = nhwc(F.max_pool2d(t, (k[1], k[2]), (s[1], s[2])))
    elif op == "Equal":
        env[name] = a[0] == a[1]
    elif op == "Cast":
        env[name] = a[0].to(torch.float32)  # every Cast in these graphs goes to float32
    elif op == "Reshape":
        env[name] = a[0].reshape([int(v) for v in a[1].tolist()])
    elif op == "TopKV2":
        # TF's TopKV2 (sorted) breaks ties by the lower index first; a stable descending
        # sort does the same.
        vals, idx = torch.sort(a[0], dim=-1, descending=True, stable=True)
        k = int(a[1])
        env[name] = (vals[..., :k], idx[..., :k].to(torch.int32))
    elif op == "ExpandDims":
        env[name] = a[0].unsqueeze(int(a[1]))
    elif op == "FloorDiv":
        env[name] = torch.div(a[0], a[1], rounding_mode="floor")
    elif op == "FloorMod":
        env[name] = torch.remainder(a[0], a[1])
    elif op == "GatherV2":
        env[name] = a[0].index_select(int(a[2]), a[1].to(torch.int64).reshape(-1)).reshape(
            list(a[1].shape) + list(a[0].shape[int(a[2]) + 1:]))
    elif op == "StridedSlice":
        begin, end, strides = a[1].tolist(), a[2].tolist(), a[3].tolist()
        bm, em = int(node["attr"]["begin_mask"]["i"]), int(node["attr"]["end_mask"]["i"])
        ellipsis = int(node["attr"].get("ellipsis_mask", {}).get("i", 0))
        for m in ("new_axis_mask", "shrink_axis_mask"):
            if int(node["attr"].get(m, {}).get("i", 0)):
                raise ValueError(f"{name}: {m} not supported")
        sl = []
        for i in range(len(begin)):
            if ellipsis >> i & 1:  # YOLOv5's head: x[..., a:b]
                sl.append(Ellipsis)
                continue
            b = None if bm >> i & 1 else begin[i]
            e = None if em >> i & 1 else end[i]
            sl.append(slice(b, e, strides[i]))
        env[name] = a[0][tuple(sl)]
    else:
        raise ValueError(f"{name}: op {op} not supported by run_nhwc")
