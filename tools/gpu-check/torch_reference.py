"""PyTorch peer for the GPU check: the same softmax and truncation workloads as the Kernels suite, timed on the GPU
(CUDA events, median of 50), with bytes moved (softmax: read + write once; selection and sampling: the logits read
once) and GB/s, written as JSON next to the Kernels results."""
import json
import sys

import torch


def bench(fn, reps=50):
    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def top_k_top_p_sample(logits, k, p, temperature):
    z = logits / temperature
    if k > 0:
        values, indices = torch.topk(z, k, dim=-1)
    else:
        values, indices = torch.sort(z, dim=-1, descending=True)
    probs = torch.softmax(values, dim=-1)
    cumulative = torch.cumsum(probs, dim=-1)
    probs = probs.masked_fill(cumulative - probs >= p, 0.0)
    choice = torch.multinomial(probs, 1)
    return torch.gather(indices, -1, choice)


def min_p_sample(logits, min_p):
    probs = torch.softmax(logits, dim=-1)
    keep = probs >= min_p * probs.max(dim=-1, keepdim=True).values
    return torch.multinomial(probs * keep, 1)


def main(out):
    device = torch.device("cuda")
    rows_cols = [(1, 128000), (16, 128000), (64, 128000), (256, 128000), (64, 32000), (64, 256000), (4096, 1024)]
    results = []
    for rows, cols in rows_cols:
        x = torch.randn(rows, cols, device=device) * 3
        for name, fn in [("softmax", lambda: torch.softmax(x, dim=-1)),
                         ("log_softmax", lambda: torch.log_softmax(x, dim=-1)),
                         ("logsumexp", lambda: torch.logsumexp(x, dim=-1))]:
            ms = bench(fn)
            moved = rows * cols * 4 * (1 if name == "logsumexp" else 2)
            results.append({"kernel": name, "shape": f"{rows}x{cols}", "median_ms": ms, "gbps": moved / ms / 1e6})
            print(f"{name:12s} {rows}x{cols}: {ms:.3f} ms, {moved / ms / 1e6:.1f} GB/s")
    # Top-k selection and truncated sampling as engines write them in PyTorch (sort-based top-p, as Hugging Face does).
    for rows, cols in [(1, 128000), (64, 128000)]:
        x = torch.randn(rows, cols, device=device) * 3
        for name, fn in [("topk_50", lambda: torch.topk(x, 50, dim=-1)),
                         ("topk50_topp0.9_sample", lambda: top_k_top_p_sample(x, 50, 0.9, 0.8)),
                         ("topp0.95_sample", lambda: top_k_top_p_sample(x, 0, 0.95, 1.0)),
                         ("minp0.1_sample", lambda: min_p_sample(x, 0.1))]:
            ms = bench(fn)
            moved = rows * cols * 4
            results.append({"kernel": name, "shape": f"{rows}x{cols}", "median_ms": ms, "gbps": moved / ms / 1e6})
            print(f"{name:22s} {rows}x{cols}: {ms:.3f} ms, {moved / ms / 1e6:.1f} GB/s")
    with open(out, "w") as f:
        json.dump({"peer": "pytorch", "torch": torch.__version__, "device": torch.cuda.get_device_name(0), "results": results}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "torch.json")
