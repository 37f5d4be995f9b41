"""Dynamic int8 quantization of an ONNX image tower, as ONNX Runtime's
quantize_dynamic does it, with python3-onnx alone (Debian has no
onnxruntime Python package):

    python3 bench/quantize_onnx.py IN.onnx OUT.onnx

Every MatMul whose second input is a constant 2-D float weight [K, N]
becomes

    DynamicQuantizeLinear(A) -> A_q (uint8, per tensor), A_scale, A_zero
    MatMulInteger(A_q, W_q, A_zero, W_zero) -> int32
    Cast(float) * (A_scale * W_scale)

with W_q int8, symmetric per output column (W_scale[n] = max|W[:, n]| / 127,
W_zero = 0). This is the node pattern ONNX Runtime's quantizer emits and
its graph optimizer fuses into MatMulIntegerToFloat, so ONNX Runtime runs
its own int8 kernels (MLAS) on it. Activations feeding several MatMuls
(q, k and v read one LayerNorm) are quantized once. Attention's two
MatMuls (both inputs computed) and the patch Conv stay float32, as in
goclip's int8 mode.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize(model):
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    nodes, quantized, count = [], {}, 0
    for n in g.node:
        w = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) == 2 else None
        if w is None or len(w.dims) != 2 or w.data_type != TensorProto.FLOAT:
            nodes.append(n)
            continue
        count += 1
        a, out, tag = n.input[0], n.output[0], f"q{count}"
        if a not in quantized:
            q = (f"{a}_quantized", f"{a}_scale", f"{a}_zero_point")
            nodes.append(helper.make_node("DynamicQuantizeLinear", [a], list(q), name=f"{tag}_dql"))
            quantized[a] = q
        a_q, a_scale, a_zero = quantized[a]
        wf = numpy_helper.to_array(w).astype(np.float32)
        scale = np.abs(wf).max(axis=0) / 127.0
        scale[scale == 0] = 1.0
        wq = np.clip(np.rint(wf / scale), -127, 127).astype(np.int8)
        g.initializer.extend([
            numpy_helper.from_array(wq, f"{w.name}_quantized"),
            numpy_helper.from_array(scale.astype(np.float32), f"{w.name}_scale"),
            numpy_helper.from_array(np.zeros(wf.shape[1], np.int8), f"{w.name}_zero_point"),
        ])
        nodes += [
            helper.make_node("MatMulInteger", [a_q, f"{w.name}_quantized", a_zero, f"{w.name}_zero_point"],
                             [f"{tag}_int32"], name=f"{tag}_matmul"),
            helper.make_node("Cast", [f"{tag}_int32"], [f"{tag}_float"], to=TensorProto.FLOAT, name=f"{tag}_cast"),
            helper.make_node("Mul", [a_scale, f"{w.name}_scale"], [f"{tag}_scales"], name=f"{tag}_scales"),
            helper.make_node("Mul", [f"{tag}_float", f"{tag}_scales"], [out], name=f"{tag}_rescale"),
        ]
    if count == 0:
        raise SystemExit("quantize_onnx: no MatMul with a constant 2-D float weight: nothing to quantize")
    used = {i for n in nodes for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(keep)
    return count


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    model = onnx.load(sys.argv[1])
    count = quantize(model)
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[2])
    print(f"quantized {count} MatMuls of {sys.argv[1]} into {sys.argv[2]}", file=sys.stderr)


if __name__ == "__main__":
    main()
